"""Real races over real HTTP and a real PostgreSQL: no oversell, no deadlock, one order per key,
stock returned exactly once, and no half order when a request is cancelled."""

import asyncio
from collections import Counter

import aiopg
import pytest

from order_api import orders, queries
from order_api.models import OrderCreate
from support.orders import new_key, order_body


async def stock_of(sql, product_id: int) -> int:
    rows = await sql("SELECT stock FROM catalog.products WHERE id = %s", (product_id,))
    return rows[0]["stock"]


async def test_200_buyers_for_50_items_exactly_50_win(place, products, sql):
    responses = await asyncio.gather(*(place(order_body((1, 1))) for _ in range(200)))
    statuses = Counter(r.status for r in responses)
    assert statuses == {201: 50, 409: 150}
    assert await stock_of(sql, 1) == 0
    taken = await sql("SELECT sum(quantity) AS q FROM orders.order_lines WHERE product_id = 1")
    assert taken[0]["q"] == 50
    assert (await sql("SELECT count(*) AS n FROM orders.orders"))[0]["n"] == 50


async def test_overlapping_orders_in_opposite_orders_never_deadlock(place, sql, products):
    await sql("UPDATE catalog.products SET stock = 30 WHERE id IN (1, 2)")
    bodies = [
        order_body((1, 1), (2, 1)) if i % 2 else order_body((2, 1), (1, 1)) for i in range(80)
    ]
    responses = await asyncio.gather(*(place(body) for body in bodies))
    statuses = Counter(r.status for r in responses)
    assert statuses == {201: 30, 409: 50}  # no 5xx: no deadlock error reached a client
    assert (await stock_of(sql, 1), await stock_of(sql, 2)) == (0, 0)


async def test_50_requests_with_one_key_make_one_order(place, products, sql):
    key = new_key()
    body = order_body((1, 2))
    responses = await asyncio.gather(*(place(body, key=key) for _ in range(50)))
    statuses = Counter(r.status for r in responses)
    assert set(statuses) <= {201, 409}
    assert statuses[201] >= 1
    created = {await r.text() for r in responses if r.status == 201}
    assert len(created) == 1  # every 201 is the same original answer
    for r in responses:
        if r.status == 409:
            assert (await r.json())["error"]["code"] == "idempotency_in_flight"
    assert (await sql("SELECT count(*) AS n FROM orders.orders"))[0]["n"] == 1
    assert await stock_of(sql, 1) == 48
    replay = await place(body, key=key)
    assert replay.status == 201
    assert replay.headers["Idempotent-Replayed"] == "true"
    assert await replay.text() == created.pop()


async def test_same_key_with_another_body_is_422(place, products, sql):
    key = new_key()
    assert (await place(order_body((1, 1)), key=key)).status == 201
    other = await place(order_body((1, 2)), key=key)
    assert other.status == 422
    assert (await other.json())["error"]["code"] == "idempotency_key_reused"
    assert await stock_of(sql, 1) == 49


async def test_expired_key_can_be_used_again(place, products, sql):
    key = new_key()
    first = await (await place(order_body((1, 1)), key=key)).json()
    await sql("UPDATE orders.idempotency_keys SET expires_at = now() - interval '1 second'")
    second = await place(order_body((1, 3)), key=key)
    assert second.status == 201
    assert (await second.json())["id"] != first["id"]
    assert await stock_of(sql, 1) == 46


async def test_concurrent_cancels_return_stock_once(client, place, products, sql):
    order = await (await place(order_body((2, 4)))).json()
    assert await stock_of(sql, 2) == 1
    responses = await asyncio.gather(
        *(client.post(f"/orders/{order['id']}/cancel") for _ in range(20))
    )
    assert Counter(r.status for r in responses) == {200: 1, 409: 19}
    assert await stock_of(sql, 2) == 5


async def test_cancelled_placement_leaves_nothing(client, products, sql, empty_db):
    """A placement cancelled mid-transaction (as a shutdown would) rolls back entirely."""
    app = client.server.app
    async with aiopg.connect(empty_db) as blocker, blocker.cursor() as cur:
        await cur.execute("BEGIN")
        await cur.execute("SELECT * FROM catalog.products WHERE id = 2 FOR UPDATE")
        body = OrderCreate.model_validate(order_body((1, 1), (2, 1)))
        task = asyncio.ensure_future(orders.place_order(app, key=new_key(), order=body))
        await asyncio.sleep(0.3)  # placement now waits for the row lock of product 2
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        await cur.execute("ROLLBACK")
    await asyncio.sleep(0.2)
    assert (await sql("SELECT count(*) AS n FROM orders.orders"))[0]["n"] == 0
    assert (await sql("SELECT count(*) AS n FROM orders.idempotency_keys"))[0]["n"] == 0
    assert (await stock_of(sql, 1), await stock_of(sql, 2)) == (50, 5)


async def test_client_that_disconnects_can_retry_safely(client, products, sql, empty_db):
    """The client gives up while the order waits on a lock; the retry with the same key gets
    the one order (placed to completion or not at all, never half)."""
    key = new_key()
    body = order_body((1, 2), (2, 1))
    async with aiopg.connect(empty_db) as blocker, blocker.cursor() as cur:
        await cur.execute("BEGIN")
        await cur.execute("SELECT * FROM catalog.products WHERE id = 2 FOR UPDATE")
        with pytest.raises(asyncio.TimeoutError):
            async with asyncio.timeout(0.3):
                await client.post("/orders", json=body, headers={"Idempotency-Key": key})
        await cur.execute("ROLLBACK")
    for _ in range(50):
        retry = await client.post("/orders", json=body, headers={"Idempotency-Key": key})
        if retry.status != 409:  # 409: the first attempt is still finishing
            break
        await asyncio.sleep(0.1)
    assert retry.status == 201
    assert (await sql("SELECT count(*) AS n FROM orders.orders"))[0]["n"] == 1
    assert (await sql("SELECT count(*) AS n FROM orders.order_lines"))[0]["n"] == 2
    assert (await stock_of(sql, 1), await stock_of(sql, 2)) == (48, 4)


async def test_repeats_of_a_completed_key_replay_at_once(place, products, sql):
    """Once the first request has committed, every repeat gets the stored answer (201, the same
    bytes, Idempotent-Replayed), however many arrive together: none waits on the key's lock."""
    key = new_key()
    body = order_body((1, 2))
    first = await place(body, key=key)
    assert first.status == 201
    original = await first.text()
    responses = await asyncio.gather(*(place(body, key=key) for _ in range(40)))
    assert Counter(r.status for r in responses) == {201: 40}
    for r in responses:
        assert r.headers["Idempotent-Replayed"] == "true"
        assert await r.text() == original
    assert (await sql("SELECT count(*) AS n FROM orders.orders"))[0]["n"] == 1
    assert await stock_of(sql, 1) == 48


async def test_only_a_key_still_in_flight_answers_409(place, products, sql, empty_db):
    """With the key's lock held elsewhere (a first request still running), a completed key still
    replays while a new key answers 409 + Retry-After and writes nothing."""
    done, running = new_key(), new_key()
    body = order_body((1, 1))
    original = await (await place(body, key=done)).text()
    async with aiopg.connect(empty_db) as holder, holder.cursor() as cur:
        await cur.execute("BEGIN")
        for key in (done, running):
            await cur.execute(
                "SELECT pg_advisory_xact_lock(hashtextextended(%s, %s))",
                (key, queries.IDEMPOTENCY_LOCK_SEED),
            )
        replay = await place(body, key=done)
        assert replay.status == 201
        assert replay.headers["Idempotent-Replayed"] == "true"
        assert await replay.text() == original
        in_flight = await place(body, key=running)
        assert in_flight.status == 409
        assert in_flight.headers["Retry-After"] == "1"
        assert (await in_flight.json())["error"]["code"] == "idempotency_in_flight"
        await cur.execute("ROLLBACK")
    assert (await sql("SELECT count(*) AS n FROM orders.orders"))[0]["n"] == 1
    assert await stock_of(sql, 1) == 49


async def test_the_purge_deletes_only_expired_keys_and_keeps_their_orders(
    client, place, products, sql
):
    expired, live = new_key(), new_key()
    for key in (expired, live):
        assert (await place(order_body((1, 1)), key=key)).status == 201
    await sql(
        "UPDATE orders.idempotency_keys SET expires_at = now() - interval '1 second'"
        " WHERE key = %s",
        (expired,),
    )
    assert await orders.purge_expired_keys(client.server.app) == 1
    keys = await sql("SELECT key FROM orders.idempotency_keys")
    assert [row["key"] for row in keys] == [live]
    assert (await sql("SELECT count(*) AS n FROM orders.orders"))[0]["n"] == 2
