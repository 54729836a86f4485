"""Business metrics of order placement, registered on the service's registry."""

from __future__ import annotations

from decimal import Decimal

from kit.metrics import HttpMetrics

REJECTION_REASONS = (
    "insufficient_stock",
    "unknown_product",
    "invalid_request",
    "idempotency_conflict",
    "db_unavailable",
)


class OrderMetrics:
    def __init__(self, http: HttpMetrics) -> None:
        self.created = http.counter("orders_created_total", "Orders created.")
        self.rejected = http.counter("orders_rejected_total", "Orders refused, by reason.")
        self.stock_conflicts = http.counter(
            "stock_conflicts_total", "Orders refused because a line was short of stock."
        )
        self.value = http.counter("orders_value_total", "Sum of created order totals.")
        # Start every series at zero so rates and dashboards have data before the first event.
        self.created.set({}, 0)
        self.stock_conflicts.set({}, 0)
        self.value.set({}, 0)
        for reason in REJECTION_REASONS:
            self.rejected.set({"reason": reason}, 0)

    def order_created(self, total: Decimal) -> None:
        self.created.inc({})
        self.value.add({}, float(total))

    def order_rejected(self, reason: str) -> None:
        self.rejected.inc({"reason": reason})
        if reason == "insufficient_stock":
            self.stock_conflicts.inc({})
