-- Who may do what in the catalog. The migrator (the role that runs `python -m db.migrate`) owns
-- the schema and its tables; each service connects with its own role:
--
--   product_api    reads and writes the catalog's tables, nothing else
--   order_api      may only call catalog.reserve_stock / catalog.release_stock (USAGE on the
--                  schema to find them; no privilege on any table)
--   catalog_stock  NOLOGIN; owns the two stock functions, which run as their owner (SECURITY
--                  DEFINER) with exactly the rights they need: read products, write their stock
--
-- Roles are cluster-wide objects, so they are created here only if missing, without LOGIN;
-- `db.migrate` then gives product_api and order_api LOGIN and the password from
-- PRODUCT_API_DB_PASSWORD / ORDER_API_DB_PASSWORD after every run (see db/migrate.py).
DO $$
DECLARE
    role_name text;
BEGIN
    FOREACH role_name IN ARRAY ARRAY['product_api', 'order_api', 'catalog_stock'] LOOP
        IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = role_name) THEN
            EXECUTE format('CREATE ROLE %I NOLOGIN', role_name);
        END IF;
    END LOOP;
END;
$$;

REVOKE ALL ON SCHEMA catalog FROM PUBLIC;
GRANT USAGE ON SCHEMA catalog TO product_api, order_api, catalog_stock;

-- product-api: the tables, today's and those later migrations add (default privileges apply to
-- objects the migrator creates).
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA catalog TO product_api;
GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA catalog TO product_api;
ALTER DEFAULT PRIVILEGES IN SCHEMA catalog
    GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO product_api;
ALTER DEFAULT PRIVILEGES IN SCHEMA catalog GRANT USAGE, SELECT ON SEQUENCES TO product_api;

-- Functions are executable by PUBLIC unless revoked: in the catalog nobody may call a function
-- that is not granted by name.
REVOKE EXECUTE ON ALL FUNCTIONS IN SCHEMA catalog FROM PUBLIC;
ALTER DEFAULT PRIVILEGES IN SCHEMA catalog REVOKE EXECUTE ON FUNCTIONS FROM PUBLIC;

-- The stock interface: owned by catalog_stock, run as their owner, with a search_path that no
-- caller can influence (every name in their bodies is schema-qualified or in pg_catalog).
GRANT SELECT, UPDATE (stock, updated_at) ON catalog.products TO catalog_stock;
ALTER FUNCTION catalog.reserve_stock(bigint[], integer[])
    OWNER TO catalog_stock;
ALTER FUNCTION catalog.reserve_stock(bigint[], integer[])
    SECURITY DEFINER SET search_path = pg_catalog, pg_temp;
ALTER FUNCTION catalog.release_stock(bigint[], integer[])
    OWNER TO catalog_stock;
ALTER FUNCTION catalog.release_stock(bigint[], integer[])
    SECURITY DEFINER SET search_path = pg_catalog, pg_temp;
REVOKE EXECUTE ON FUNCTION catalog.reserve_stock(bigint[], integer[]) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION catalog.release_stock(bigint[], integer[]) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION catalog.reserve_stock(bigint[], integer[]) TO order_api;
GRANT EXECUTE ON FUNCTION catalog.release_stock(bigint[], integer[]) TO order_api;
