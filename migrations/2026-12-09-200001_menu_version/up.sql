-- One number that changes with everything the terminal menu shows (categories, products with
-- their stock and 86 state, modifiers, the settings' currency and happy hour), so
-- `GET /api/menu` can answer a revalidation and find its cached body without reading the
-- catalogue. Kept by triggers, so no writer (admin routes, order units moving stock, seed,
-- images, plain SQL) can forget it, and read from the database, so every replica sees a change
-- made through another. The bump is transactional: a reader never sees the new number before
-- the rows it stands for.
CREATE TABLE menu_version (
    id boolean PRIMARY KEY DEFAULT true CHECK (id),
    version bigint NOT NULL
);
INSERT INTO menu_version (id, version) VALUES (true, 1);

CREATE FUNCTION bump_menu_version() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE menu_version SET version = version + 1 WHERE id;
    RETURN NULL;
END;
$$;

-- Per statement, not per row: a 20,000-row import bumps once. An UPDATE that matched no row
-- still bumps (a spurious new version costs one rebuild, never a stale menu).
CREATE TRIGGER categories_menu_version AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON categories
    FOR EACH STATEMENT EXECUTE FUNCTION bump_menu_version();
CREATE TRIGGER products_menu_version AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON products
    FOR EACH STATEMENT EXECUTE FUNCTION bump_menu_version();
CREATE TRIGGER modifiers_menu_version AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON modifiers
    FOR EACH STATEMENT EXECUTE FUNCTION bump_menu_version();
CREATE TRIGGER settings_menu_version AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON settings
    FOR EACH STATEMENT EXECUTE FUNCTION bump_menu_version();
