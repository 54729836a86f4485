"""order-api: orders with atomic stock reservation and idempotency keys."""
