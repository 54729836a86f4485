"""catalog.reserve_stock / release_stock: all or nothing, never negative, deadlock-free order."""

import psycopg2
import pytest


async def stock(sql, product_id: int) -> int:
    return (await sql("SELECT stock FROM catalog.products WHERE id = %s", (product_id,)))[0][
        "stock"
    ]


async def test_reserve_takes_every_line(sql, small_catalog):
    a, b = small_catalog["AUD-1"], small_catalog["PHO-1"]
    rows = await sql("SELECT * FROM catalog.reserve_stock(%s, %s)", ([b, a], [2, 5]))
    assert [(r["product_id"], r["requested"], r["available"], r["reserved"]) for r in rows] == [
        (a, 5, 5, True),
        (b, 2, 12, True),
    ]
    assert str(rows[0]["unit_price"]) == "199.00"
    assert (await stock(sql, a), await stock(sql, b)) == (0, 10)


async def test_one_short_line_takes_nothing(sql, small_catalog):
    a, b = small_catalog["AUD-1"], small_catalog["PHO-1"]
    rows = await sql("SELECT * FROM catalog.reserve_stock(%s, %s)", ([a, b], [6, 1]))
    assert {r["product_id"]: (r["available"], r["reserved"]) for r in rows} == {
        a: (5, False),
        b: (12, False),
    }
    assert (await stock(sql, a), await stock(sql, b)) == (5, 12)


async def test_unknown_or_hidden_product_takes_nothing(sql, small_catalog):
    a = small_catalog["AUD-1"]
    await sql("UPDATE catalog.products SET active = false WHERE id = %s", (small_catalog["PHO-1"],))
    rows = await sql(
        "SELECT * FROM catalog.reserve_stock(%s, %s)",
        ([a, small_catalog["PHO-1"], 9999], [1, 1, 1]),
    )
    assert [r["available"] for r in rows] == [5, None, None]
    assert not any(r["reserved"] for r in rows)
    assert await stock(sql, a) == 5


@pytest.mark.parametrize(
    ("ids", "quantities"), [([1, 1], [1, 1]), ([1], [0]), ([1], [-2]), ([1, 2], [1])]
)
async def test_invalid_calls_raise(sql, small_catalog, ids, quantities):
    with pytest.raises(psycopg2.errors.InvalidParameterValue):
        await sql("SELECT * FROM catalog.reserve_stock(%s::bigint[], %s::int[])", (ids, quantities))


async def test_release_gives_stock_back(sql, small_catalog):
    a = small_catalog["AUD-2"]
    await sql("SELECT catalog.release_stock(%s, %s)", ([a], [4]))
    assert await stock(sql, a) == 4


async def test_stock_can_never_go_negative(sql, small_catalog):
    with pytest.raises(psycopg2.errors.CheckViolation):
        await sql("UPDATE catalog.products SET stock = -1 WHERE id = %s", (small_catalog["AUD-1"],))
