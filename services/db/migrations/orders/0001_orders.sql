-- Orders and their lines. Prices and names are copied from the catalog at order time, so an order
-- never changes when the catalog does. Stock is taken through catalog.reserve_stock in the same
-- transaction that writes these rows.
CREATE SCHEMA IF NOT EXISTS orders;

CREATE TABLE orders.orders (
    id               uuid          PRIMARY KEY DEFAULT gen_random_uuid(),
    status           text          NOT NULL
        CHECK (status IN ('confirmed', 'shipped', 'delivered', 'cancelled')),
    customer_email   text          NOT NULL CHECK (length(customer_email) BETWEEN 3 AND 254),
    customer_name    text          NOT NULL CHECK (length(customer_name) BETWEEN 1 AND 200),
    shipping_address jsonb         NOT NULL,
    total            numeric(14,2) NOT NULL CHECK (total >= 0),
    created_at       timestamptz   NOT NULL DEFAULT now(),
    updated_at       timestamptz   NOT NULL DEFAULT now()
);
CREATE INDEX orders_customer_idx ON orders.orders (lower(customer_email), created_at DESC, id);

CREATE TABLE orders.order_lines (
    order_id   uuid          NOT NULL REFERENCES orders.orders (id) ON DELETE CASCADE,
    product_id bigint        NOT NULL,
    name       text          NOT NULL,
    unit_price numeric(12,2) NOT NULL CHECK (unit_price >= 0),
    quantity   integer       NOT NULL CHECK (quantity > 0),
    line_total numeric(14,2) NOT NULL CHECK (line_total = unit_price * quantity),
    PRIMARY KEY (order_id, product_id)
);

-- Idempotency keys (IETF httpapi idempotency-key draft, Stripe semantics): the request's
-- fingerprint and the response are stored in the transaction that creates the order, so a replay
-- returns exactly what the first request got. Keys expire after 24 hours.
CREATE TABLE orders.idempotency_keys (
    key             text        PRIMARY KEY CHECK (length(key) BETWEEN 1 AND 255),
    fingerprint     text        NOT NULL,
    order_id        uuid        NOT NULL REFERENCES orders.orders (id) ON DELETE CASCADE,
    response_status integer     NOT NULL,
    response_body   text        NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    expires_at      timestamptz NOT NULL DEFAULT now() + interval '24 hours'
);
CREATE INDEX idempotency_keys_expiry_idx ON orders.idempotency_keys (expires_at);
