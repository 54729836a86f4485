-- Who may do what in the orders schema (the roles are created in catalog/0003_privileges.sql).
-- The migrator owns the schema and its objects; order_api reads and writes the tables and calls
-- the schema's functions; no other role (product_api included) may even look up a name here.
REVOKE ALL ON SCHEMA orders FROM PUBLIC;
GRANT USAGE ON SCHEMA orders TO order_api;

GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA orders TO order_api;
GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA orders TO order_api;
ALTER DEFAULT PRIVILEGES IN SCHEMA orders
    GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO order_api;
ALTER DEFAULT PRIVILEGES IN SCHEMA orders GRANT USAGE, SELECT ON SEQUENCES TO order_api;

REVOKE EXECUTE ON ALL FUNCTIONS IN SCHEMA orders FROM PUBLIC;
ALTER DEFAULT PRIVILEGES IN SCHEMA orders REVOKE EXECUTE ON FUNCTIONS FROM PUBLIC;
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA orders TO order_api;
ALTER DEFAULT PRIVILEGES IN SCHEMA orders GRANT EXECUTE ON FUNCTIONS TO order_api;
