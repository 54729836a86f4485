"""`python -m product_api.seed`: load a demo catalog (240 products in 8 categories).

Deterministic (same products every run) and idempotent (existing SKUs are left alone), so it is
safe to run on every `make run`.
"""

from __future__ import annotations

import asyncio
import random
import sys
from decimal import Decimal

import aiopg

from kit.db import DictCursor
from kit.settings import ConfigError, Env
from product_api import queries

CATALOG: dict[str, tuple[str, list[str], tuple[int, int]]] = {
    "laptops": (
        "Laptops",
        ["Ultrabook", "Workstation Laptop", "Gaming Laptop", "Chromebook", "2-in-1 Convertible"],
        (399, 3499),
    ),
    "phones": (
        "Phones",
        ["Smartphone", "Rugged Phone", "Foldable Phone", "Compact Phone"],
        (149, 1799),
    ),
    "audio": (
        "Audio",
        ["Wireless Headphones", "Earbuds", "Bookshelf Speaker", "Soundbar", "USB Microphone"],
        (19, 899),
    ),
    "monitors": (
        "Monitors",
        ["4K Monitor", "Ultrawide Monitor", "Portable Monitor", "Gaming Monitor"],
        (129, 1999),
    ),
    "storage": (
        "Storage",
        ["NVMe SSD", "Portable SSD", "External HDD", "NAS Enclosure", "microSD Card"],
        (9, 699),
    ),
    "networking": (
        "Networking",
        ["Wi-Fi 7 Router", "Mesh System", "Network Switch", "Powerline Adapter"],
        (29, 599),
    ),
    "accessories": (
        "Accessories",
        [
            "Mechanical Keyboard",
            "Wireless Mouse",
            "USB-C Dock",
            "Laptop Stand",
            "Webcam",
            "Charger",
        ],
        (9, 349),
    ),
    "smart-home": (
        "Smart Home",
        ["Smart Plug", "Video Doorbell", "Thermostat", "Smart Bulb", "Security Camera"],
        (12, 449),
    ),
}
BRANDS = [
    "Arcturus",
    "Bolt",
    "Cobalt",
    "Dynamo",
    "Ember",
    "Fjord",
    "Granite",
    "Halcyon",
    "Ion",
    "Juniper",
]
TRAITS = ["Pro", "Air", "Max", "Lite", "Plus", "Mini", "Ultra", "S", "X", "Neo"]
PER_CATEGORY = 30


def demo_products() -> list[dict]:
    rng = random.Random(20261127)
    products = []
    for slug, (_title, kinds, (low, high)) in CATALOG.items():
        for n in range(PER_CATEGORY):
            kind = kinds[n % len(kinds)]
            brand = rng.choice(BRANDS)
            trait = rng.choice(TRAITS)
            price = Decimal(rng.randint(low, high)) - Decimal("0.01")
            products.append(
                {
                    "sku": f"{slug[:4].upper()}-{n + 1:04d}",
                    "name": f"{brand} {kind} {trait} {rng.randint(2, 9)}",
                    "description": (
                        # No article before the kind: kinds are singular ("Webcam") or
                        # plural ("Earbuds"), and their own capitals ("NVMe SSD") stay.
                        f"The {brand} {kind} {trait}: dependable {kind} with "
                        f"{rng.choice(['a two-year warranty', 'free returns', 'easy repairs'])}"
                        f" and {rng.choice(['low power use', 'a quiet design', 'fast set-up'])}."
                    ),
                    "category": slug,
                    "price": max(price, Decimal("4.99")),
                    # a few sold out and a few nearly sold out, as in a real shop
                    "stock": rng.choice([0, 1, 2, 3, 5, 8, 12, 20, 35, 50, 80, 120]),
                }
            )
    return products


async def seed(dsn: str) -> int:
    """Insert the demo catalog; return how many products were new."""
    created = 0
    async with (
        aiopg.connect(dsn) as conn,
        conn.cursor(cursor_factory=DictCursor) as cur,
    ):
        async with cur.begin():
            categories = {
                slug: await queries.ensure_category(cur, slug=slug, name=title)
                for slug, (title, _kinds, _range) in CATALOG.items()
            }
            for product in demo_products():
                new_id = await queries.insert_product(
                    cur,
                    sku=product["sku"],
                    name=product["name"],
                    description=product["description"],
                    category_id=categories[product["category"]],
                    price=product["price"],
                    stock=product["stock"],
                )
                created += new_id is not None
    return created


def main() -> int:
    try:
        dsn = Env().url("DATABASE_URL", schemes=("postgresql", "postgres"))
    except ConfigError as err:
        print(f"seed: configuration error: {err}", file=sys.stderr)
        return 2
    created = asyncio.run(seed(dsn))
    print(f"seed: {created} new products ({len(demo_products())} in the demo catalog)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
