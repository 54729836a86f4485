-- Every change to what GET /products/{id} answers is announced on the channel catalog_products,
-- so product-api's read cache (services/product_api/read_cache.py) can drop what it holds. The
-- payload is the product's id, or '*' when any number of answers may have changed (a category
-- was renamed or removed, a table was truncated). PostgreSQL delivers a NOTIFY only when its
-- transaction commits, in commit order, and sends a repeated payload of one transaction once.
--
-- The row trigger fires for every writer, whatever its role: product-api's own statements and
-- the stock functions, which run as catalog_stock (SECURITY DEFINER, search_path pinned to
-- pg_catalog): EXECUTE on a trigger function is checked when the trigger is created, not when it
-- fires, and every name in the bodies below is schema-qualified.
CREATE FUNCTION catalog.notify_product_change() RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        PERFORM pg_catalog.pg_notify('catalog_products', OLD.id::pg_catalog.text);
        RETURN NULL;
    END IF;
    IF TG_OP = 'UPDATE' AND OLD.id <> NEW.id THEN
        PERFORM pg_catalog.pg_notify('catalog_products', OLD.id::pg_catalog.text);
    END IF;
    PERFORM pg_catalog.pg_notify('catalog_products', NEW.id::pg_catalog.text);
    RETURN NULL;
END;
$$;

CREATE FUNCTION catalog.notify_catalog_change() RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
    PERFORM pg_catalog.pg_notify('catalog_products', '*');
    RETURN NULL;
END;
$$;

-- Only triggers run them (0003's schema default cannot take PUBLIC's EXECUTE away; say it here).
REVOKE EXECUTE ON FUNCTION catalog.notify_product_change() FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION catalog.notify_catalog_change() FROM PUBLIC;

CREATE TRIGGER products_notify_change
    AFTER INSERT OR UPDATE OR DELETE ON catalog.products
    FOR EACH ROW EXECUTE FUNCTION catalog.notify_product_change();

CREATE TRIGGER products_notify_truncate
    AFTER TRUNCATE ON catalog.products
    FOR EACH STATEMENT EXECUTE FUNCTION catalog.notify_catalog_change();

-- A product answer carries its category's slug: a changed or removed category may change any.
-- (A new category changes no existing answer.)
CREATE TRIGGER categories_notify_change
    AFTER UPDATE OR DELETE OR TRUNCATE ON catalog.categories
    FOR EACH STATEMENT EXECUTE FUNCTION catalog.notify_catalog_change();
