DROP TRIGGER IF EXISTS settings_menu_version ON settings;
DROP TRIGGER IF EXISTS modifiers_menu_version ON modifiers;
DROP TRIGGER IF EXISTS products_menu_version ON products;
DROP TRIGGER IF EXISTS categories_menu_version ON categories;
DROP FUNCTION IF EXISTS bump_menu_version();
DROP TABLE IF EXISTS menu_version;
