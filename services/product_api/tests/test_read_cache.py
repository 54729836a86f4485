"""The read cache of GET /products/{id} and GET /products (product_api/read_cache.py) on a real
PostgreSQL: it is never staler than the last notification it processed, it empties and stops
caching while its listener is gone, it stays within its bounds, its metrics count, and ETags stay
right."""

import asyncio
import re

import aiopg
import pytest

from product_api.app import create_app
from product_api.keys import PRODUCT_CACHE
from product_api.read_cache import list_size, row_size
from product_api.settings import load_settings
from support import pg
from support.fixtures import PRODUCT_CACHE_ON, service_env

WAIT_SECONDS = 15


async def start(aiohttp_client, **env: str):
    """The real app with its cache, once the cache's listener is LISTENing."""
    env = {**PRODUCT_CACHE_ON, **env}
    client = await aiohttp_client(create_app(load_settings(service_env("product_api", **env))))
    cache = client.app[PRODUCT_CACHE]
    await cache.wait_for(lambda c: c.enabled, WAIT_SECONDS)
    return client, cache


async def read(client, product_id: int) -> dict:
    response = await client.get(f"/products/{product_id}")
    assert response.status == 200, await response.text()
    return await response.json()


async def read_list(client, query: str) -> dict[int, dict]:
    """GET /products?{query}: its items by id."""
    response = await client.get(f"/products?{query}")
    assert response.status == 200, await response.text()
    return {item["id"]: item for item in (await response.json())["items"]}


async def test_reads_never_older_than_the_last_processed_notification(
    aiohttp_client, small_catalog, admin_headers
):
    """Writers (admin PATCH of a price, admin stock increases, catalog.reserve_stock run by
    order-api's role) race readers of each product and of a list holding all of them. Each value
    only moves one way, and once a write's notification has been processed every read shows that
    value or a newer one."""
    client, cache = await start(aiohttp_client)
    priced, restocked = small_catalog["AUD-1"], small_catalog["PHO-1"]
    reserved = small_catalog["PHO-2"]
    rounds = 40
    # The newest value each product is known to show (its write's notification was processed).
    floor = {
        priced: 0.0,
        restocked: float((await read(client, restocked))["stock"]),
        reserved: -float((await read(client, reserved))["stock"]),
    }
    async with aiopg.connect(pg.database_url()) as conn, conn.cursor() as cur:
        await cur.execute("UPDATE catalog.products SET stock = 1000 WHERE id = %s", (reserved,))
    await cache.wait_for(lambda c: c.notifications >= 1, WAIT_SECONDS)
    floor[reserved] = -1000.0
    started = 0  # writes sent; each commits one product row, so one notification each

    def value(product_id: int, row: dict) -> float:
        if product_id == priced:
            return float(row["price"])
        if product_id == restocked:
            return float(row["stock"])
        return -float(row["stock"])  # reserving only lowers it

    async def settled(product_id: int, written: float) -> None:
        # Every write sent so far has committed or will: wait until all their notifications
        # (this one's among them) were processed, then the value is a floor for every read.
        await cache.wait_for(lambda c: c.notifications >= 1 + started, WAIT_SECONDS)
        floor[product_id] = max(floor[product_id], written)
        assert value(product_id, await read(client, product_id)) >= written

    async def patch_prices() -> None:
        nonlocal started
        for n in range(1, rounds + 1):
            started += 1
            response = await client.patch(
                f"/products/{priced}", json={"price": f"{n}.00"}, headers=admin_headers
            )
            assert response.status == 200
            await settled(priced, float(n))

    async def add_stock() -> None:
        nonlocal started
        for _ in range(rounds):
            started += 1
            response = await client.post(
                f"/products/{restocked}/stock", json={"delta": 1}, headers=admin_headers
            )
            assert response.status == 200
            await settled(restocked, float((await response.json())["stock"]))

    async def reserve() -> None:
        nonlocal started
        async with (
            aiopg.connect(pg.service_url("order_api")) as conn,
            conn.cursor() as cur,
        ):
            for _ in range(rounds):
                started += 1
                await cur.execute(
                    "SELECT available - requested FROM catalog.reserve_stock(%s, %s)",
                    ([reserved], [1]),
                )
                (left,) = await cur.fetchone()
                await settled(reserved, -float(left))

    reads = list_reads = 0

    async def keep_reading(stop: asyncio.Event) -> None:
        nonlocal reads
        while not stop.is_set():
            for product_id in (priced, restocked, reserved):
                before = floor[product_id]
                assert value(product_id, await read(client, product_id)) >= before
                reads += 1

    async def keep_reading_the_list(stop: asyncio.Event) -> None:
        nonlocal list_reads
        while not stop.is_set():
            before = dict(floor)
            listed = await read_list(client, "limit=100&sort=name")
            for product_id, lowest in before.items():
                assert value(product_id, listed[product_id]) >= lowest
            list_reads += 1

    stop = asyncio.Event()
    readers = [asyncio.create_task(keep_reading(stop)) for _ in range(3)]
    readers += [asyncio.create_task(keep_reading_the_list(stop)) for _ in range(2)]
    try:
        await asyncio.gather(patch_prices(), add_stock(), reserve())
    finally:
        stop.set()
        await asyncio.gather(*readers)
    assert reads > 3 * rounds
    assert list_reads > rounds
    assert cache.hits > 0, "the cache never answered: the test proved nothing about it"
    final = {pid: value(pid, await read(client, pid)) for pid in floor}
    assert final == {priced: float(rounds), restocked: floor[restocked], reserved: -1000.0 + rounds}


async def test_a_read_that_raced_a_notification_is_not_stored(aiohttp_client, small_catalog, sql):
    """The race read (old row) -> notification -> store: the row read before the change is
    dropped, not cached, and the next read fills with the new one."""
    client, cache = await start(aiohttp_client)
    pid = small_catalog["AUD-1"]
    token = cache.token()
    old = (await sql("SELECT id, name FROM catalog.products WHERE id = %s", (pid,)))[0]
    await sql("UPDATE catalog.products SET name = 'Newer' WHERE id = %s", (pid,))
    await cache.wait_for(lambda c: c.notifications >= 1, WAIT_SECONDS)
    cache.put(pid, dict(old), token)
    assert len(cache) == 0
    assert (await read(client, pid))["name"] == "Newer"
    assert len(cache) == 1


async def test_a_change_by_another_writer_is_seen_once_notified(aiohttp_client, small_catalog, sql):
    """A change this process did not make (name, active, category) reaches it by notification."""
    client, cache = await start(aiohttp_client)
    pid = small_catalog["AUD-1"]
    await read(client, pid)
    assert (await read(client, pid))["name"] == "Quiet Headphones"
    assert len(cache) == 1
    await sql("UPDATE catalog.products SET name = 'Renamed' WHERE id = %s", (pid,))
    await cache.wait_for(lambda c: c.notifications >= 1, WAIT_SECONDS)
    assert (await read(client, pid))["name"] == "Renamed"
    await sql("UPDATE catalog.categories SET slug = 'sound' WHERE slug = 'audio'")
    await cache.wait_for(lambda c: c.notifications >= 2, WAIT_SECONDS)
    assert len(cache) == 0
    assert (await read(client, pid))["category"] == "sound"
    await sql("UPDATE catalog.products SET active = false WHERE id = %s", (pid,))
    await cache.wait_for(lambda c: c.notifications >= 3, WAIT_SECONDS)
    assert (await client.get(f"/products/{pid}")).status == 404


async def test_a_list_is_answered_from_the_cache_until_any_product_changes(
    aiohttp_client, small_catalog, sql
):
    """A repeated search or page is a hit with the same body; a change by another writer to a
    product in the list, to one outside it that now matches, and to a category each drop it."""
    client, cache = await start(aiohttp_client)
    search = "q=phone"
    first = await client.get(f"/products?{search}")
    assert first.status == 200
    hits = cache.hits
    again = await client.get(f"/products?{search}")
    assert cache.hits == hits + 1
    assert await again.read() == await first.read()
    assert again.headers["ETag"] == first.headers["ETag"]
    assert set(await read_list(client, search)) == {small_catalog["PHO-1"], small_catalog["PHO-2"]}

    await sql("UPDATE catalog.products SET stock = 99 WHERE id = %s", (small_catalog["PHO-1"],))
    await cache.wait_for(lambda c: c.notifications >= 1, WAIT_SECONDS)
    assert (await read_list(client, search))[small_catalog["PHO-1"]]["stock"] == 99

    quiet = small_catalog["AUD-1"]
    await sql("UPDATE catalog.products SET name = 'Quiet Phone Headset' WHERE id = %s", (quiet,))
    await cache.wait_for(lambda c: c.notifications >= 2, WAIT_SECONDS)
    assert quiet in await read_list(client, search)

    await sql("UPDATE catalog.products SET stock = 0 WHERE id = %s", (small_catalog["PHO-2"],))
    await cache.wait_for(lambda c: c.notifications >= 3, WAIT_SECONDS)
    assert small_catalog["PHO-2"] not in await read_list(client, f"{search}&in_stock=true")

    await read_list(client, search)
    await sql("UPDATE catalog.categories SET slug = 'mobiles' WHERE slug = 'phones'")
    await cache.wait_for(lambda c: c.notifications >= 4, WAIT_SECONDS)
    listed = await read_list(client, search)
    assert listed[small_catalog["PHO-1"]]["category"] == "mobiles"
    assert set(await read_list(client, "category=mobiles")) == {
        small_catalog["PHO-1"],
        small_catalog["PHO-2"],
    }


async def test_every_query_parameter_is_part_of_a_lists_key(aiohttp_client, small_catalog):
    """Two queries that differ in any one parameter are two answers, never one served for the
    other; the same query is one."""
    client, cache = await start(aiohttp_client)
    base = {
        "limit": "2", "offset": "0", "category": "phones", "min_price": "1.00",
        "max_price": "500.00", "in_stock": "true", "q": "phone", "sort": "price",
    }  # fmt: skip
    variants = {
        "limit": "1", "offset": "1", "category": "audio", "min_price": "20.00",
        "max_price": "100.00", "in_stock": "false", "q": "quiet", "sort": "-price",
    }  # fmt: skip
    answers = {}
    for name, other in variants.items():
        for params in (base, {**base, name: other}):
            response = await client.get("/products", params=params)
            assert response.status == 200, await response.text()
            answers[tuple(sorted(params.items()))] = await response.read()
    assert len(answers) == len(variants) + 1
    assert len(cache) == len(answers)
    for params, body in answers.items():
        hits = cache.hits
        assert await (await client.get("/products", params=dict(params))).read() == body
        assert cache.hits == hits + 1
    # The answers differ where the parameter matters: a sort, a page, a search.
    assert len(set(answers.values())) > 1


async def test_this_process_writes_show_in_the_next_list_without_the_notification(
    aiohttp_client, small_catalog, admin_headers
):
    """A product created, repriced or withdrawn here is in the very next list read, before the
    notification of that write is processed (here: held back until the end)."""
    client, cache = await start(aiohttp_client)
    held_back = []
    cache.notified = held_back.append  # the listener still receives; nothing is applied
    page = "limit=100"
    assert len(await read_list(client, page)) == 4
    created = await client.post(
        "/products",
        json={"sku": "CAM-1", "name": "Pocket Camera", "category": "audio", "price": "5.00"},
        headers=admin_headers,
    )
    assert created.status == 201, await created.text()
    new_id = (await created.json())["id"]
    assert new_id in await read_list(client, page)
    patched = await client.patch(
        f"/products/{new_id}", json={"price": "7.50"}, headers=admin_headers
    )
    assert patched.status == 200
    assert (await read_list(client, page))[new_id]["price"] == "7.50"
    assert (await client.delete(f"/products/{new_id}", headers=admin_headers)).status == 204
    assert new_id not in await read_list(client, page)
    del cache.notified


async def test_a_list_read_that_raced_a_notification_is_not_stored(
    aiohttp_client, small_catalog, sql
):
    client, cache = await start(aiohttp_client)
    pid = small_catalog["AUD-1"]
    key = ("stale",)
    token = cache.token()
    await sql("UPDATE catalog.products SET name = 'Newer' WHERE id = %s", (pid,))
    await cache.wait_for(lambda c: c.notifications >= 1, WAIT_SECONDS)
    cache.put_list(key, ([{"id": pid, "name": "Quiet Headphones"}], 1), token)
    assert len(cache) == 0
    assert (await read_list(client, "q=newer"))[pid]["name"] == "Newer"
    assert len(cache) == 1


async def test_listener_loss_empties_the_cache_and_it_refills_only_once_back(
    aiohttp_client, small_catalog, sql
):
    """The listener's backend is killed: the cache empties and reads go to the database (a
    change made meanwhile, whose notification this process never gets, is seen at once); it
    caches again only after the listener has LISTENed again."""
    client, cache = await start(aiohttp_client)
    cache.retry_seconds = 3  # a window with the listener gone and the database up
    pid = small_catalog["AUD-1"]
    await read(client, pid)
    await read(client, pid)
    assert len(cache) == 1
    killed = await sql(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
        " WHERE application_name = 'product-api cache listener'"
    )
    assert len(killed) == 1
    await cache.wait_for(lambda c: not c.enabled, WAIT_SECONDS)
    assert len(cache) == 0
    await sql("UPDATE catalog.products SET price = 1.23 WHERE id = %s", (pid,))
    for _ in range(3):
        assert (await read(client, pid))["price"] == "1.23"
    if not cache.enabled:
        assert len(cache) == 0, "stored a row while nothing told it of changes"
    await cache.wait_for(lambda c: c.enabled, WAIT_SECONDS)
    await read(client, pid)
    assert len(cache) == 1
    hits = cache.hits
    assert (await read(client, pid))["price"] == "1.23"
    assert cache.hits == hits + 1


async def test_a_postgresql_restart_empties_the_cache(
    aiohttp_client, small_catalog, pg_server, empty_db
):
    client, cache = await start(aiohttp_client)
    pid = small_catalog["PHO-1"]
    await read(client, pid)
    await read(client, pid)
    assert len(cache) == 1
    await asyncio.to_thread(pg_server.stop)
    try:
        await cache.wait_for(lambda c: not c.enabled, WAIT_SECONDS)
        assert len(cache) == 0
        assert (await client.get(f"/products/{pid}")).status == 503  # never a stale answer
        assert len(cache) == 0
    finally:
        await asyncio.to_thread(pg_server.start)
    await pg.fetch(empty_db, "UPDATE catalog.products SET stock = 77 WHERE id = %s", (pid,))
    deadline = asyncio.get_running_loop().time() + WAIT_SECONDS
    while True:
        response = await client.get(f"/products/{pid}")
        if response.status == 200:
            assert (await response.json())["stock"] == 77
            if not cache.enabled:
                assert len(cache) == 0
            break
        assert asyncio.get_running_loop().time() < deadline, "the database did not come back"
        await asyncio.sleep(0.2)
    await cache.wait_for(lambda c: c.enabled, WAIT_SECONDS)
    await read(client, pid)
    assert (await read(client, pid))["stock"] == 77
    assert len(cache) == 1


@pytest.mark.parametrize(
    ("env", "bound"),
    [
        ({"PRODUCT_CACHE_MAX_ENTRIES": "25"}, "entries"),
        ({"PRODUCT_CACHE_MAX_BYTES": str(64 * 1024)}, "bytes"),
    ],
)
async def test_a_scan_of_every_id_stays_within_the_bounds(aiohttp_client, seeded, env, bound):
    client, cache = await start(aiohttp_client, **env)
    ids = [
        row["id"] for row in await pg.fetch(seeded, "SELECT id FROM catalog.products WHERE active")
    ]
    assert len(ids) > 100
    most_entries = most_bytes = 0
    for product_id in ids:
        await read(client, product_id)
        most_entries = max(most_entries, len(cache))
        most_bytes = max(most_bytes, cache.bytes)
    assert most_entries <= cache.max_entries
    assert most_bytes <= cache.max_bytes
    # The accounting is the rows' real size, and the bound was reached, not dodged.
    held = [row for row, _ in cache._rows.values()]
    assert cache.bytes == sum(row_size(row) for row in held)
    if bound == "entries":
        assert len(cache) == cache.max_entries
    else:
        assert cache.bytes > cache.max_bytes // 2
        assert len(cache) < cache.max_entries
    # Least recently used went first: the newest reads are the ones held.
    assert list(cache._rows)[-1] == ids[-1]


async def test_a_scan_of_every_page_stays_within_the_byte_bound(aiohttp_client, seeded):
    """Lists count toward the same bound as rows, by their real size."""
    client, cache = await start(aiohttp_client, PRODUCT_CACHE_MAX_BYTES=str(256 * 1024))
    most_bytes = 0
    for offset in range(0, 200, 5):
        assert len(await read_list(client, f"limit=20&offset={offset}")) == 20
        most_bytes = max(most_bytes, cache.bytes)
    assert most_bytes <= cache.max_bytes
    held = list(cache._rows.items())
    assert 1 < len(held) < 40, "the bound was never reached"
    assert cache.bytes == sum(list_size(key, answer) for key, (answer, _) in held)
    assert cache.bytes > cache.max_bytes // 2


def metric(text: str, name: str) -> float:
    match = re.search(rf'^{name}{{service="product-api"}} (\S+)$', text, re.MULTILINE)
    assert match, f"{name} missing from /metrics"
    return float(match.group(1))


async def test_metrics_count_hits_misses_and_invalidations(
    aiohttp_client, small_catalog, admin_headers, sql
):
    client, cache = await start(aiohttp_client)
    pid = small_catalog["AUD-1"]
    for _ in range(3):
        await read(client, pid)  # one miss, two hits
    await client.patch(f"/products/{pid}", json={"price": "5.00"}, headers=admin_headers)
    await read(client, pid)  # a miss after the local invalidation
    await sql("UPDATE catalog.products SET stock = 9 WHERE id = %s", (pid,))
    await cache.wait_for(lambda c: c.notifications >= 2, WAIT_SECONDS)  # the PATCH's, the UPDATE's
    text = await (await client.get("/metrics")).text()
    assert metric(text, "product_cache_hits_total") == 2
    assert metric(text, "product_cache_misses_total") == 2
    assert metric(text, "product_cache_invalidations_total") == 3  # PATCH here, two notifications
    assert metric(text, "product_cache_entries") == 0
    assert metric(text, "product_cache_listening") == 1


async def test_etag_and_304_are_the_same_from_the_cache(aiohttp_client, small_catalog, sql):
    client, cache = await start(aiohttp_client)
    path = f"/products/{small_catalog['PHO-1']}"
    uncached = await client.get(path)
    cached = await client.get(path)
    assert cache.hits == 1
    assert await cached.read() == await uncached.read()
    etag = uncached.headers["ETag"]
    assert cached.headers["ETag"] == etag
    not_modified = await client.get(path, headers={"If-None-Match": etag})
    assert not_modified.status == 304
    assert not_modified.headers["ETag"] == etag
    await sql("UPDATE catalog.products SET price = 1.00 WHERE id = %s", (small_catalog["PHO-1"],))
    await cache.wait_for(lambda c: c.notifications >= 1, WAIT_SECONDS)
    changed = await client.get(path, headers={"If-None-Match": etag})
    assert changed.status == 200
    assert changed.headers["ETag"] != etag
    again = await client.get(path, headers={"If-None-Match": changed.headers["ETag"]})
    assert again.status == 304


async def test_zero_entries_switches_the_cache_off(aiohttp_client, small_catalog):
    app = create_app(load_settings(service_env("product_api", PRODUCT_CACHE_MAX_ENTRIES="0")))
    assert PRODUCT_CACHE not in app
    client = await aiohttp_client(app)
    assert (await client.get(f"/products/{small_catalog['AUD-1']}")).status == 200
    assert "product_cache_hits_total" not in await (await client.get("/metrics")).text()


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("PRODUCT_CACHE_MAX_ENTRIES", "-1"),
        ("PRODUCT_CACHE_MAX_ENTRIES", "many"),
        ("PRODUCT_CACHE_MAX_BYTES", "1000"),
    ],
)
def test_bad_cache_settings_stop_start_up(name, value):
    from kit.settings import ConfigError

    with pytest.raises(ConfigError, match=name):
        load_settings(service_env("product_api", **{name: value}))
