-- The catalog: categories, products and their stock. The catalog owns the stock column; other
-- services change it only through the functions in 0002_stock_functions.sql.
CREATE SCHEMA IF NOT EXISTS catalog;

CREATE TABLE catalog.categories (
    id   integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    slug text NOT NULL UNIQUE CHECK (slug ~ '^[a-z0-9]+(-[a-z0-9]+)*$' AND length(slug) <= 64),
    name text NOT NULL CHECK (length(name) BETWEEN 1 AND 100)
);

CREATE TABLE catalog.products (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    sku         text          NOT NULL UNIQUE CHECK (sku ~ '^[A-Z0-9][A-Z0-9-]{1,39}$'),
    name        text          NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    description text          NOT NULL DEFAULT '' CHECK (length(description) <= 5000),
    category_id integer       NOT NULL REFERENCES catalog.categories (id),
    price       numeric(12,2) NOT NULL CHECK (price >= 0),
    stock       integer       NOT NULL CHECK (stock >= 0),
    -- Deleting a product hides it; order lines keep pointing at it.
    active      boolean       NOT NULL DEFAULT true,
    created_at  timestamptz   NOT NULL DEFAULT now(),
    updated_at  timestamptz   NOT NULL DEFAULT now(),
    search      tsvector GENERATED ALWAYS AS (
        setweight(to_tsvector('english', name), 'A') ||
        setweight(to_tsvector('english', description), 'B')
    ) STORED
);

CREATE INDEX products_search_idx ON catalog.products USING gin (search);
CREATE INDEX products_category_idx ON catalog.products (category_id) WHERE active;
CREATE INDEX products_price_idx ON catalog.products (price) WHERE active;
CREATE INDEX products_created_idx ON catalog.products (created_at DESC, id DESC) WHERE active;
CREATE INDEX products_name_idx ON catalog.products (name, id) WHERE active;
