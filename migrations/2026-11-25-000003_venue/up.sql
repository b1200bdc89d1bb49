-- The venue: its settings, its floor and its menu.

-- One row (id is always true): the venue's settings document, typed so the database can
-- still refuse an impossible value.
CREATE TABLE settings (
    id                        boolean     PRIMARY KEY DEFAULT true,
    cafe_name                 text        NOT NULL,
    currency                  text        NOT NULL,
    vat_rate_bp               integer     NOT NULL,
    prices_include_tax        boolean     NOT NULL,
    service_charge_bp         integer     NOT NULL,
    receipt_footer            text        NOT NULL,
    cashier_discount_limit_bp integer     NOT NULL,
    backup_retention_days     integer     NOT NULL,
    business_day_cutoff_hour  integer     NOT NULL,
    utc_offset_minutes        integer     NOT NULL,
    happy_hour_start          time        NOT NULL,
    happy_hour_end            time        NOT NULL,
    shift_variance_threshold  bigint      NOT NULL,
    updated_at                timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT settings_single_row_check CHECK (id),
    CONSTRAINT settings_cafe_name_check CHECK (length(btrim(cafe_name)) BETWEEN 1 AND 80),
    CONSTRAINT settings_currency_check CHECK (currency ~ '^[A-Z]{3}$'),
    CONSTRAINT settings_vat_rate_bp_check CHECK (vat_rate_bp BETWEEN 0 AND 10000),
    CONSTRAINT settings_service_charge_bp_check CHECK (service_charge_bp BETWEEN 0 AND 10000),
    CONSTRAINT settings_receipt_footer_check CHECK (length(receipt_footer) <= 500),
    CONSTRAINT settings_cashier_discount_limit_bp_check CHECK (cashier_discount_limit_bp BETWEEN 0 AND 10000),
    CONSTRAINT settings_backup_retention_days_check CHECK (backup_retention_days BETWEEN 1 AND 3650),
    CONSTRAINT settings_business_day_cutoff_hour_check CHECK (business_day_cutoff_hour BETWEEN 0 AND 23),
    CONSTRAINT settings_utc_offset_minutes_check CHECK (utc_offset_minutes BETWEEN -720 AND 840),
    CONSTRAINT settings_shift_variance_threshold_check CHECK (shift_variance_threshold >= 0)
);
CREATE TRIGGER settings_set_updated_at BEFORE UPDATE ON settings
    FOR EACH ROW EXECUTE FUNCTION pos_set_updated_at();

CREATE TABLE dining_tables (
    id         uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    code       text        NOT NULL,
    area       text,
    seats      integer     NOT NULL,
    image_url  text,
    sort_order integer     NOT NULL DEFAULT 0,
    active     boolean     NOT NULL DEFAULT true,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT dining_tables_code_key UNIQUE (code),
    CONSTRAINT dining_tables_code_check CHECK (length(btrim(code)) BETWEEN 1 AND 80),
    CONSTRAINT dining_tables_seats_check CHECK (seats > 0 AND seats <= 1000)
);
CREATE INDEX dining_tables_sort_idx ON dining_tables (sort_order, code) WHERE active;
CREATE TRIGGER dining_tables_set_updated_at BEFORE UPDATE ON dining_tables
    FOR EACH ROW EXECUTE FUNCTION pos_set_updated_at();

CREATE TABLE categories (
    id              uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    name            text        NOT NULL,
    default_station text,
    sort_order      integer     NOT NULL DEFAULT 0,
    active          boolean     NOT NULL DEFAULT true,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT categories_name_key UNIQUE (name),
    CONSTRAINT categories_name_check CHECK (length(btrim(name)) BETWEEN 1 AND 80),
    CONSTRAINT categories_default_station_check CHECK (default_station IN ('kitchen', 'bar'))
);
CREATE TRIGGER categories_set_updated_at BEFORE UPDATE ON categories
    FOR EACH ROW EXECUTE FUNCTION pos_set_updated_at();

CREATE TABLE products (
    id               uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    sku              text        NOT NULL,
    name             text        NOT NULL,
    category_id      uuid        NOT NULL REFERENCES categories (id),
    section          text,
    price            bigint      NOT NULL,
    currency         text        NOT NULL,
    station          text,
    available        boolean     NOT NULL DEFAULT true,
    active           boolean     NOT NULL DEFAULT true,
    image_url        text,
    sort_order       integer     NOT NULL DEFAULT 0,
    happy_hour_price bigint,
    stock_qty        integer,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT products_sku_key UNIQUE (sku),
    CONSTRAINT products_sku_check CHECK (sku ~ '^[A-Z0-9_-]{1,40}$'),
    CONSTRAINT products_name_check CHECK (length(btrim(name)) BETWEEN 1 AND 80),
    CONSTRAINT products_price_check CHECK (price >= 0),
    CONSTRAINT products_currency_check CHECK (currency ~ '^[A-Z]{3}$'),
    CONSTRAINT products_station_check CHECK (station IN ('kitchen', 'bar')),
    CONSTRAINT products_happy_hour_price_check CHECK (happy_hour_price >= 0),
    -- Stock never goes below zero: a send that would oversell fails instead.
    CONSTRAINT products_stock_qty_check CHECK (stock_qty >= 0)
);
CREATE INDEX products_menu_idx ON products (category_id, sort_order, name) WHERE active;
CREATE TRIGGER products_set_updated_at BEFORE UPDATE ON products
    FOR EACH ROW EXECUTE FUNCTION pos_set_updated_at();

CREATE TABLE modifiers (
    id         uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    product_id uuid        NOT NULL REFERENCES products (id) ON DELETE CASCADE,
    name       text        NOT NULL,
    price      bigint      NOT NULL DEFAULT 0,
    sort_order integer     NOT NULL DEFAULT 0,
    active     boolean     NOT NULL DEFAULT true,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT modifiers_product_name_key UNIQUE (product_id, name),
    CONSTRAINT modifiers_name_check CHECK (length(btrim(name)) BETWEEN 1 AND 80),
    CONSTRAINT modifiers_price_check CHECK (price >= 0)
);
CREATE TRIGGER modifiers_set_updated_at BEFORE UPDATE ON modifiers
    FOR EACH ROW EXECUTE FUNCTION pos_set_updated_at();
