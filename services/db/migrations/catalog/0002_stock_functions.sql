-- The catalog's stock interface for other services. Both functions run inside the caller's
-- transaction: if the caller rolls back, the stock change rolls back with it.
--
-- reserve_stock takes the lines of one order (product ids must be distinct) and either takes the
-- stock of every line or of none. It locks the product rows in ascending id order, so two orders
-- over the same products always lock in the same order and cannot deadlock. One row per line
-- comes back: reserved = false on every row when any line is short or unknown.
CREATE FUNCTION catalog.reserve_stock(p_product_ids bigint[], p_quantities integer[])
RETURNS TABLE (
    product_id bigint,
    name       text,
    unit_price numeric(12,2),
    requested  integer,
    available  integer,
    reserved   boolean
)
LANGUAGE plpgsql
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
           CASE WHEN all_ok THEN p.stock + l.qty ELSE p.stock END,
           all_ok
      FROM unnest(p_product_ids, p_quantities) AS l (id, qty)
      LEFT JOIN catalog.products p ON p.id = l.id AND p.active
     ORDER BY l.id;
END;
$$;

-- release_stock gives reserved stock back (a cancelled order), locking rows in id order too.
-- Hidden (deleted) products get their stock back as well.
CREATE FUNCTION catalog.release_stock(p_product_ids bigint[], p_quantities integer[])
RETURNS void
LANGUAGE plpgsql
AS $$
BEGIN
    IF cardinality(p_product_ids) <> cardinality(p_quantities) THEN
        RAISE EXCEPTION 'release_stock: % ids but % quantities',
            cardinality(p_product_ids), cardinality(p_quantities) USING ERRCODE = '22023';
    END IF;
    PERFORM 1 FROM catalog.products p
     WHERE p.id = ANY (p_product_ids)
     ORDER BY p.id
       FOR UPDATE;
    UPDATE catalog.products p
       SET stock = p.stock + l.qty, updated_at = now()
      FROM (SELECT id, sum(qty)::integer AS qty
              FROM unnest(p_product_ids, p_quantities) AS u (id, qty)
             GROUP BY id) AS l
     WHERE p.id = l.id;
END;
$$;
