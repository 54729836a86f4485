-- A completed idempotency key replays without touching the key's lock: its record is committed,
-- so any number of repeats read it at once. Only a key with no live record takes the
-- transaction-scoped advisory lock; failing to get it means a first request is still running
-- (the caller answers 409 + Retry-After). After the lock is held the record is looked up again,
-- in a fresh snapshot, so a first request that committed between the two looks is replayed and
-- never placed twice.
--
-- Returns {locked, now, fingerprint, order_id, response_status, response_body}; the record
-- fields are NULL when the key has no live record.
CREATE OR REPLACE FUNCTION orders.claim_idempotency_key(p_key text, p_lock_seed bigint)
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
    RETURN QUERY
    SELECT false, now(), k.fingerprint, k.order_id, k.response_status, k.response_body
      FROM orders.idempotency_keys k
     WHERE k.key = p_key AND k.expires_at > now();
    IF FOUND THEN
        RETURN;
    END IF;
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
