-- One drawer per till: a terminal has at most one open shift, whatever the concurrency
-- (a staff member already has at most one: shifts_one_open_per_staff).
CREATE UNIQUE INDEX shifts_one_open_per_terminal ON shifts (terminal_id)
    WHERE status = 'open' AND terminal_id IS NOT NULL;
