-- Trigger functions shared by the tables of later migrations.

-- Keeps updated_at truthful whoever writes the row (the app, a psql session, a restore script).
CREATE FUNCTION pos_set_updated_at() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF NEW IS DISTINCT FROM OLD AND NEW.updated_at IS NOT DISTINCT FROM OLD.updated_at THEN
        NEW.updated_at := now();
    END IF;
    RETURN NEW;
END;
$$;

-- Append-only and immutable tables (events, audit_log, z_reports) refuse every change to a
-- row that exists: history is corrected by appending, never by rewriting.
CREATE FUNCTION pos_refuse_mutation() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'object_not_in_prerequisite_state';
END;
$$;
