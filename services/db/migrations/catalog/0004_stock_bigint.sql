-- Domain limits in the catalog's types (the limits themselves live in services/kit/validation.py).
--
-- Stock becomes bigint. The API lets an admin set a product's stock to at most MAX_STOCK
-- (1 000 000), but a cancelled order gives its units back on top of whatever stands there, so
-- the stored value may exceed MAX_STOCK; with integer, enough returned units (about 2.1e9) would
-- overflow and the order could no longer be cancelled. bigint cannot be reached that way.
ALTER TABLE catalog.products ALTER COLUMN stock TYPE bigint;

-- New prices are at most MAX_PRICE (9 999 999.99), so MAX_LINES (50) x MAX_QUANTITY (100) units
-- at that price (49 999 999 950.00) always fit orders.total numeric(14,2). NOT VALID: rows
-- written before the limit are kept as they are (an order over them that would overflow is a
-- 409, never a 500).
ALTER TABLE catalog.products
    ADD CONSTRAINT products_price_max CHECK (price <= 9999999.99) NOT VALID;

-- reserve_stock reads the bigint stock. Same signature and result type, so its owner and grants
-- (0003_privileges.sql) stay; CREATE OR REPLACE resets the function's attributes, so the
-- SECURITY DEFINER and pinned search_path of 0003 are restated. `available` stays integer and is
-- capped at 2^31-1: it only ever explains a shortage, and a line asks for at most 5 000 units.
CREATE OR REPLACE FUNCTION catalog.reserve_stock(p_product_ids bigint[], p_quantities integer[])
RETURNS TABLE (
    product_id bigint,
    name       text,
    unit_price numeric(12,2),
    requested  integer,
    available  integer,
    reserved   boolean
)
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_column
DECLARE
    all_ok boolean;
BEGIN
    IF cardinality(p_product_ids) <> cardinality(p_quantities) THEN
        RAISE EXCEPTION 'reserve_stock: % ids but % quantities',
            cardinality(p_product_ids), cardinality(p_quantities) USING ERRCODE = '22023';
    END IF;
    IF EXISTS (SELECT 1 FROM unnest(p_quantities) AS q WHERE q IS NULL OR q <= 0) THEN
        RAISE EXCEPTION 'reserve_stock: quantities must be positive' USING ERRCODE = '22023';
    END IF;
    IF (SELECT count(DISTINCT x) FROM unnest(p_product_ids) AS x) <> cardinality(p_product_ids) THEN
        RAISE EXCEPTION 'reserve_stock: product ids must be distinct' USING ERRCODE = '22023';
    END IF;

    PERFORM 1 FROM catalog.products p
     WHERE p.id = ANY (p_product_ids)
     ORDER BY p.id
       FOR UPDATE;

    SELECT bool_and(p.id IS NOT NULL AND p.stock >= l.qty)
      INTO all_ok
      FROM unnest(p_product_ids, p_quantities) AS l (id, qty)
      LEFT JOIN catalog.products p ON p.id = l.id AND p.active;

    IF all_ok THEN
        UPDATE catalog.products p
           SET stock = p.stock - l.qty, updated_at = now()
          FROM unnest(p_product_ids, p_quantities) AS l (id, qty)
         WHERE p.id = l.id;
    END IF;

    -- `available` is the stock before this call, whether or not it was taken.
    RETURN QUERY
    SELECT l.id, p.name, p.price, l.qty,
           -- not LEAST(): it would turn the NULL of an unknown product into the cap
           (CASE WHEN s.before > 2147483647 THEN 2147483647 ELSE s.before END)::integer,
           all_ok
      FROM unnest(p_product_ids, p_quantities) AS l (id, qty)
      LEFT JOIN catalog.products p ON p.id = l.id AND p.active
     CROSS JOIN LATERAL
           (SELECT CASE WHEN all_ok THEN p.stock + l.qty ELSE p.stock END AS before) AS s
     ORDER BY l.id;
END;
$$;
