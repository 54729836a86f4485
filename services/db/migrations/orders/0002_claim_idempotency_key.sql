-- Claim an idempotency key for the calling transaction, in one round trip: take the key's
-- transaction-scoped advisory lock if it is free, forget an expired record of the key, and return
-- the live record if there is one.
--
-- The function is VOLATILE plpgsql, so under READ COMMITTED its lookup takes a fresh snapshot
-- after the lock is held: a first request that committed just before we got the lock is seen,
-- and its stored response is replayed instead of placing a second order.
CREATE FUNCTION orders.claim_idempotency_key(p_key text, p_lock_seed bigint)
RETURNS TABLE (
    locked          boolean,
    now             timestamptz,
    fingerprint     text,
    order_id        uuid,
    response_status integer,
    response_body   text
)
LANGUAGE plpgsql
VOLATILE
AS $$
#variable_conflict use_column
BEGIN
    IF NOT pg_try_advisory_xact_lock(hashtextextended(p_key, p_lock_seed)) THEN
        RETURN QUERY SELECT false, now(), NULL::text, NULL::uuid, NULL::integer, NULL::text;
        RETURN;
    END IF;
    DELETE FROM orders.idempotency_keys k WHERE k.key = p_key AND k.expires_at <= now();
    RETURN QUERY
    SELECT true, now(), k.fingerprint, k.order_id, k.response_status, k.response_body
      FROM (SELECT 1) AS one
      LEFT JOIN orders.idempotency_keys k ON k.key = p_key;
END;
$$;
