-- A stored answer (an order as JSON, ~2 KB) made its row just long enough for PostgreSQL to
-- compress it with pglz on every claim's completion: CPU on the hot path of every order,
-- and again to decompress on a replay. Rows up to a page now stay inline, uncompressed;
-- longer ones are still compressed and moved out of line as before.
ALTER TABLE idempotency_records SET (toast_tuple_target = 8160);
