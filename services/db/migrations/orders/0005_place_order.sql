-- Placing an order in one call: claim the idempotency key, reserve the stock through the catalog,
-- write the order, its lines and the stored response, and return what order-api needs to answer.
-- The caller sends BEGIN with the call and COMMIT once it has the answer (not with the call: a
-- caller cancelled while the call waits on a row lock must leave nothing behind). The refusals
-- (reused, in_flight, short) change nothing that the caller's ROLLBACK would need to keep.
--
-- The key is claimed by orders.claim_idempotency_key (0004), so its semantics are exactly those:
-- a completed key replays at once without its lock, a key whose first request still runs is
-- in flight, an expired record is forgotten.
--
-- The stored body is built here, byte for byte what order-api's order_json() gives when
-- serialised by orjson (the caller passes the shipping address already serialised that way):
-- compact JSON in order_json's field order, decimals as numeric::text ("10.50"), timestamps as
-- Python's datetime.isoformat() of the timestamptz in the session's time zone (microseconds only
-- when not zero). services/order_api/tests/test_place_order_sql.py holds the two together.
--
-- outcome is one of
--   replayed   the key's stored response: response_status, response_body, order_id
--   reused     the key is live with a different request (fingerprint); nothing changed
--   in_flight  the key's first request is still running; nothing changed
--   short      some line is short of stock or unknown: short_* list those lines (available is
--              NULL for an unknown product) in product id order; no stock was taken
--   created    the order is placed: response_status 201, response_body, order_id, order_total
-- A timestamptz as Python's datetime.isoformat() gives it for the value psycopg2 reads in the same
-- session: 2026-11-30T01:25:21.123456+00:00, the fraction left out when it is zero.
CREATE FUNCTION orders.isoformat(p_at timestamptz)
RETURNS text
LANGUAGE sql
STABLE
AS $$
    SELECT to_char(p_at, 'YYYY-MM-DD"T"HH24:MI:SS')
        || CASE WHEN to_char(p_at, 'US') = '000000' THEN '' ELSE to_char(p_at, '.US') END
        || to_char(p_at, 'TZH:TZM')
$$;

CREATE FUNCTION orders.place_order(
    p_key              text,
    p_lock_seed        bigint,
    p_fingerprint      text,
    p_product_ids      bigint[],
    p_quantities       integer[],
    p_customer_email   text,
    p_customer_name    text,
    p_shipping_address text,
    p_ttl_hours        integer,
    OUT outcome           text,
    OUT response_status   integer,
    OUT response_body     text,
    OUT order_id          uuid,
    OUT order_total       numeric,
    OUT short_product_ids bigint[],
    OUT short_requested   integer[],
    OUT short_available   integer[]
)
LANGUAGE plpgsql
VOLATILE
AS $$
DECLARE
    claim       record;
    v_ids       bigint[];
    v_names     text[];
    v_prices    numeric[];
    v_qtys      integer[];
    v_available integer[];
    v_all_ok    boolean;
    v_id        uuid := gen_random_uuid();
    v_items     text;
    v_stamp     text;
BEGIN
    SELECT c.locked, c.fingerprint, c.order_id, c.response_status, c.response_body
      INTO claim
      FROM orders.claim_idempotency_key(p_key, p_lock_seed) AS c;
    IF claim.fingerprint IS NOT NULL THEN
        IF claim.fingerprint <> p_fingerprint THEN
            outcome := 'reused';
        ELSE
            outcome := 'replayed';
            response_status := claim.response_status;
            response_body := claim.response_body;
            order_id := claim.order_id;
        END IF;
        RETURN;
    END IF;
    IF NOT claim.locked THEN
        outcome := 'in_flight';
        RETURN;
    END IF;

    SELECT array_agg(r.product_id ORDER BY r.product_id),
           array_agg(r.name ORDER BY r.product_id),
           array_agg(r.unit_price ORDER BY r.product_id),
           array_agg(r.requested ORDER BY r.product_id),
           array_agg(r.available ORDER BY r.product_id),
           bool_and(r.reserved)
      INTO v_ids, v_names, v_prices, v_qtys, v_available, v_all_ok
      FROM catalog.reserve_stock(p_product_ids, p_quantities) AS r;
    IF v_all_ok IS NOT TRUE THEN
        outcome := 'short';
        SELECT array_agg(l.id ORDER BY l.id), array_agg(l.qty ORDER BY l.id),
               array_agg(l.available ORDER BY l.id)
          INTO short_product_ids, short_requested, short_available
          FROM unnest(v_ids, v_qtys, v_available) AS l (id, qty, available)
         WHERE l.available IS NULL OR l.available < l.qty;
        RETURN;
    END IF;

    SELECT sum(l.price * l.qty),
           string_agg(
               '{"product_id":' || l.id::text
               || ',"name":' || to_json(l.name)::text
               || ',"unit_price":"' || l.price::text
               || '","quantity":' || l.qty::text
               || ',"line_total":"' || (l.price * l.qty)::text || '"}',
               ',' ORDER BY l.id)
      INTO order_total, v_items
      FROM unnest(v_ids, v_names, v_prices, v_qtys) AS l (id, name, price, qty);
    v_stamp := orders.isoformat(now());

    outcome := 'created';
    response_status := 201;
    order_id := v_id;
    response_body := '{"id":"' || v_id::text
        || '","status":"confirmed","customer":{"email":' || to_json(p_customer_email)::text
        || ',"name":' || to_json(p_customer_name)::text
        || '},"shipping_address":' || p_shipping_address
        || ',"items":[' || v_items
        || '],"total":"' || order_total::text
        || '","created_at":"' || v_stamp
        || '","updated_at":"' || v_stamp || '"}';

    INSERT INTO orders.orders
        (id, status, customer_email, customer_name, shipping_address, total, created_at,
         updated_at)
    VALUES (v_id, 'confirmed', p_customer_email, p_customer_name, p_shipping_address::jsonb,
            order_total, now(), now());
    INSERT INTO orders.order_lines (order_id, product_id, name, unit_price, quantity, line_total)
    SELECT v_id, l.id, l.name, l.price, l.qty, l.price * l.qty
      FROM unnest(v_ids, v_names, v_prices, v_qtys) AS l (id, name, price, qty);
    INSERT INTO orders.idempotency_keys
        (key, fingerprint, order_id, response_status, response_body, expires_at)
    VALUES (p_key, p_fingerprint, v_id, 201, response_body,
            now() + make_interval(hours => p_ttl_hours));
END;
$$;

-- Like every function of the schema (0003_privileges.sql): order_api may call them, nobody else.
-- They run as their caller, so order_api's own rights apply: its tables here, and the catalog only
-- through catalog.reserve_stock.
REVOKE EXECUTE ON FUNCTION orders.isoformat(timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION orders.isoformat(timestamptz) TO order_api;
REVOKE EXECUTE ON FUNCTION orders.place_order(
    text, bigint, text, bigint[], integer[], text, text, text, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION orders.place_order(
    text, bigint, text, bigint[], integer[], text, text, text, integer) TO order_api;
