-- Secrets the application creates for itself and every instance must share, e.g. the PIN
-- pepper: kept in the database (and so in its backups), created once by whichever instance
-- asks first, never changed (a new pepper would orphan every stored PIN lookup digest).
CREATE TABLE app_secrets (
    name       text        PRIMARY KEY,
    value      bytea       NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT app_secrets_name_check CHECK (name ~ '^[a-z0-9_]{1,64}$'),
    CONSTRAINT app_secrets_value_check CHECK (length(value) >= 16)
);
CREATE TRIGGER app_secrets_immutable BEFORE UPDATE OR DELETE ON app_secrets
    FOR EACH ROW EXECUTE FUNCTION pos_refuse_mutation();
