-- Who acts and from where: staff, terminals, login throttling and the audit trail.

CREATE TABLE staff (
    id                   uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    username             text        NOT NULL,
    full_name            text        NOT NULL,
    role                 text        NOT NULL,
    password_hash        text        NOT NULL,
    pin_hash             text,
    -- Keyed digest (HMAC with a server secret) of the PIN: argon2 hashes are salted, so PIN
    -- login on a terminal finds its staff member by this column instead of verifying every
    -- hash, and the partial unique index keeps PINs unique among active staff.
    pin_lookup           text,
    active               boolean     NOT NULL DEFAULT true,
    must_change_password boolean     NOT NULL DEFAULT false,
    token_version        integer     NOT NULL DEFAULT 0,
    password_changed_at  timestamptz NOT NULL DEFAULT now(),
    created_at           timestamptz NOT NULL DEFAULT now(),
    updated_at           timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT staff_username_key UNIQUE (username),
    CONSTRAINT staff_username_check CHECK (username = lower(username) AND length(username) BETWEEN 3 AND 32),
    CONSTRAINT staff_full_name_check CHECK (length(btrim(full_name)) BETWEEN 1 AND 100),
    CONSTRAINT staff_role_check CHECK (role IN ('admin', 'manager', 'cashier', 'waiter', 'kitchen', 'bar')),
    CONSTRAINT staff_token_version_check CHECK (token_version >= 0),
    CONSTRAINT staff_pin_lookup_needs_pin_check CHECK (pin_lookup IS NULL OR pin_hash IS NOT NULL)
);
CREATE UNIQUE INDEX staff_pin_lookup_key ON staff (pin_lookup) WHERE active AND pin_lookup IS NOT NULL;
CREATE TRIGGER staff_set_updated_at BEFORE UPDATE ON staff
    FOR EACH ROW EXECUTE FUNCTION pos_set_updated_at();

CREATE TABLE terminals (
    id              uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    code            text        NOT NULL,
    name            text        NOT NULL,
    kind            text        NOT NULL,
    station         text,
    location        text,
    has_printer     boolean     NOT NULL DEFAULT false,
    has_cash_drawer boolean     NOT NULL DEFAULT false,
    active          boolean     NOT NULL DEFAULT true,
    last_seen_at    timestamptz,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT terminals_code_key UNIQUE (code),
    CONSTRAINT terminals_code_check CHECK (code ~ '^[a-z0-9-]{2,32}$'),
    CONSTRAINT terminals_kind_check CHECK (kind IN ('pos', 'kds', 'manager', 'mobile')),
    CONSTRAINT terminals_station_check CHECK (station IN ('kitchen', 'bar'))
);
CREATE TRIGGER terminals_set_updated_at BEFORE UPDATE ON terminals
    FOR EACH ROW EXECUTE FUNCTION pos_set_updated_at();

-- Every login attempt, per scope: 'username:<name>' or 'pin:<terminal code>'. The lockout
-- counts recent failures here, so it holds across every instance sharing the database.
CREATE TABLE login_attempts (
    id           bigserial   PRIMARY KEY,
    scope        text        NOT NULL,
    attempted_at timestamptz NOT NULL DEFAULT now(),
    succeeded    boolean     NOT NULL,
    CONSTRAINT login_attempts_scope_check CHECK (length(scope) BETWEEN 1 AND 200)
);
CREATE INDEX login_attempts_scope_time_idx ON login_attempts (scope, attempted_at);
CREATE INDEX login_attempts_attempted_at_idx ON login_attempts (attempted_at);

CREATE TABLE account_locks (
    scope        text        PRIMARY KEY,
    locked_until timestamptz NOT NULL,
    locked_at    timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT account_locks_scope_check CHECK (length(scope) BETWEEN 1 AND 200),
    CONSTRAINT account_locks_until_check CHECK (locked_until > locked_at)
);

-- Tamper-evident trail: each row carries the hash of the previous one. The unique prev_hash
-- keeps the chain linear: two writers racing for the same tail cannot both append.
CREATE TABLE audit_log (
    id          bigserial   PRIMARY KEY,
    actor_id    uuid        REFERENCES staff (id),
    approver_id uuid        REFERENCES staff (id),
    terminal_id uuid        REFERENCES terminals (id),
    action      text        NOT NULL,
    entity      text        NOT NULL,
    entity_id   text,
    before      jsonb,
    after       jsonb,
    prev_hash   text        NOT NULL,
    hash        text        NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT audit_log_prev_hash_key UNIQUE (prev_hash),
    CONSTRAINT audit_log_hash_key UNIQUE (hash),
    CONSTRAINT audit_log_prev_hash_check CHECK (prev_hash ~ '^[0-9a-f]{64}$'),
    CONSTRAINT audit_log_hash_check CHECK (hash ~ '^[0-9a-f]{64}$'),
    CONSTRAINT audit_log_action_check CHECK (length(action) BETWEEN 1 AND 100)
);
CREATE INDEX audit_log_created_at_idx ON audit_log (created_at);
CREATE INDEX audit_log_entity_idx ON audit_log (entity, entity_id);
CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION pos_refuse_mutation();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION pos_refuse_mutation();
