DROP TABLE modifiers;
DROP TABLE products;
DROP TABLE categories;
DROP TABLE dining_tables;
DROP TABLE settings;
