"""Checkout: server-side validation, one order per form (double submit, resubmit), the stock
race, confirmation, look-up by id + e-mail, and cancelling."""

import asyncio
import re

import aiohttp
import aiopg

from frontend.tests.browsing import ADDRESS, HTML, Forms, base_url, text_of
from order_api.queries import IDEMPOTENCY_LOCK_SEED

ORDER_PATH = re.compile(r"^/orders/([0-9a-f-]{36})$")


async def order_count(sql) -> int:
    return (await sql("SELECT count(*) AS n FROM orders.orders"))[0]["n"]


async def stock_of(sql, product_id: int) -> int:
    rows = await sql("SELECT stock FROM catalog.products WHERE id = %s", (product_id,))
    return rows[0]["stock"]


async def checkout_fields(shop, **changes) -> dict:
    fields = Forms(await shop.page("/checkout")).get("/checkout")
    fields.update(ADDRESS)
    fields.update(changes)
    return fields


async def place_order(shop) -> str:
    """Check out the current cart with ADDRESS; the new order's id."""
    response = await shop.post("/checkout", await checkout_fields(shop), follow=False)
    assert response.status == 303, text_of(await response.text())[:300]
    return ORDER_PATH.match(response.headers["Location"]).group(1)


async def test_checkout_places_the_order_and_shows_the_confirmation(shop, products):
    await shop.add(1, 2)
    await shop.add(4, 1)
    summary = text_of(await shop.page("/checkout"))
    assert "2 \u00d7 Quiet Headphones" in summary and "$408.00" in summary

    response = await shop.post("/checkout", await checkout_fields(shop))
    assert response.status == 200
    assert ORDER_PATH.match(response.url.path)
    page = text_of(await response.text())
    assert "Thank you! Your order is confirmed." in page
    assert "Confirmed" in page and "$408.00" in page
    assert "Quiet Headphones" in page and "12 Analytical Street" in page and "London" in page
    assert 'action="/orders/' in await response.text()  # it can still be cancelled

    assert await order_count(products) == 1
    assert await stock_of(products, 1) == 3 and await stock_of(products, 4) == 2
    assert await shop.cart_quantities() == {}  # the cart is emptied


async def test_validation_errors_are_shown_next_to_the_fields_and_nothing_is_ordered(
    shop, products
):
    await shop.add(3)
    fields = await checkout_fields(
        shop, name="", email="ada@", postal_code="", country="XX", city="Paris"
    )
    html = await shop.post_page("/checkout", fields, status=422)
    text = text_of(html)
    assert "Please correct the 4 fields marked below." in text
    assert "Enter your full name." in text
    assert "Enter an e-mail address like name@example.com." in text
    assert "Enter the postal code." in text
    assert "Choose a country we ship to." in text
    assert html.count('aria-invalid="true"') == 4
    again = Forms(html).get("/checkout")
    assert again["city"] == "Paris" and again["email"] == "ada@"  # what was typed stays
    assert again["idempotency_key"] == fields["idempotency_key"]
    assert await order_count(products) == 0
    assert await shop.cart_quantities() == {3: 1}


async def test_a_double_click_creates_one_order(shop, products):
    await shop.add(3, 2)
    fields = await checkout_fields(shop)
    first, second = await asyncio.gather(
        shop.post("/checkout", fields, follow=False), shop.post("/checkout", fields, follow=False)
    )
    assert first.status == second.status == 303
    assert first.headers["Location"] == second.headers["Location"]
    assert await order_count(products) == 1
    assert await stock_of(products, 3) == 10

    # The browser's "resubmit the form?" after the order: the same order, not a new one.
    again = await shop.post("/checkout", fields, follow=False)
    assert again.status == 303 and again.headers["Location"] == first.headers["Location"]
    assert await order_count(products) == 1


async def test_resubmitting_from_another_tab_with_the_old_cart_replays_the_order(shop, products):
    await shop.add(1)
    fields = await checkout_fields(shop)
    saved = {c.key: c.value for c in shop.client.session.cookie_jar}
    first = await shop.post("/checkout", fields, follow=False)
    # a second tab still holding the cookie from before the order (cart full)
    shop.client.session.cookie_jar.update_cookies(saved, shop.client.make_url("/"))
    second = await shop.post("/checkout", fields, follow=False)
    assert second.headers["Location"] == first.headers["Location"]
    assert await order_count(products) == 1


async def test_sold_out_during_checkout_lists_the_short_items_and_keeps_the_cart(shop, products):
    await shop.add(1, 4)
    await shop.add(4, 2)
    await shop.add(3, 1)
    fields = await checkout_fields(shop)
    # another buyer wins the race for two products meanwhile
    await products("UPDATE catalog.products SET stock = 1 WHERE id = 1")
    await products("UPDATE catalog.products SET stock = 0 WHERE id = 4")

    html = await shop.post_page("/checkout", fields, status=409)
    text = text_of(html)
    assert "some items sold out while you were shopping" in text
    assert "Quiet Headphones: only 1 left (you asked for 4)." in text
    assert "Compact Phone is sold out (you asked for 2)." in text
    assert "Rugged Phone" not in text.split("Order summary")[0]  # it was not short
    assert Forms(html).get("/checkout")["name"] == ADDRESS["name"]
    assert await order_count(products) == 0
    assert await shop.cart_quantities() == {1: 4, 4: 2, 3: 1}
    assert await stock_of(products, 3) == 12  # nothing was reserved


async def test_an_order_is_found_by_id_and_email_and_can_be_cancelled_once(
    shop, make_shop, products
):
    await shop.add(3, 2)
    order_id = await place_order(shop)

    stranger = await make_shop(shop.product_url, shop.order_url)
    away = await stranger.client.get(f"/orders/{order_id}", headers=HTML, allow_redirects=False)
    assert away.status == 303 and away.headers["Location"].startswith("/orders/lookup?")

    lookup = await stranger.submit(
        f"/orders/lookup?order_id={order_id}",
        "/orders/lookup",
        {"email": "someone@example.com"},
    )
    assert lookup.status == 404
    assert "could not find an order with that number and e-mail" in text_of(await lookup.text())

    found = await stranger.submit(
        "/orders/lookup",
        "/orders/lookup",
        {"order_id": order_id.upper(), "email": "ADA@example.com"},
    )
    assert found.status == 200 and found.url.path == f"/orders/{order_id}"
    assert "Rugged Phone" in text_of(await found.text())

    cancelled = await stranger.submit(f"/orders/{order_id}", f"/orders/{order_id}/cancel")
    page = text_of(await cancelled.text())
    assert "Your order has been cancelled." in page and "Cancelled" in page
    assert f'action="/orders/{order_id}/cancel"' not in await cancelled.text()
    assert await stock_of(products, 3) == 12  # stock returned

    # a stale page's cancel button, pressed in the first browser after the cancel
    token = Forms(await shop.page("/orders/lookup")).get("/orders/lookup")["csrf_token"]
    again = await shop.post(f"/orders/{order_id}/cancel", {"csrf_token": token})
    assert again.status == 200
    assert "This order can no longer be cancelled." in text_of(await again.text())


async def test_lookup_rejects_malformed_input_without_calling_the_api(shop):
    response = await shop.submit(
        "/orders/lookup", "/orders/lookup", {"order_id": "12345", "email": "nobody"}
    )
    assert response.status == 422
    assert "Enter the order number" in text_of(await response.text())


async def test_checkout_without_the_csrf_token_places_no_order(shop, products):
    await shop.add(3)
    fields = await checkout_fields(shop)
    del fields["csrf_token"]
    response = await shop.post("/checkout", fields)
    assert response.status == 403
    assert await order_count(products) == 0
    assert await shop.cart_quantities() == {3: 1}


async def test_an_empty_cart_goes_back_to_the_cart_page(shop):
    response = await shop.client.get("/checkout", headers=HTML)
    assert response.url.path == "/cart"
    assert "Your cart is empty." in text_of(await response.text())


async def test_a_shipped_order_cannot_be_cancelled(shop, order_api, admin, products):
    await shop.add(3)
    order_id = await place_order(shop)
    cancel_form = Forms(await shop.page(f"/orders/{order_id}")).get(f"/orders/{order_id}/cancel")
    async with aiohttp.ClientSession() as session:
        shipped = await session.post(
            f"{base_url(order_api)}/orders/{order_id}/status",
            json={"status": "shipped"},
            headers=admin,
        )
        assert shipped.status == 200

    page = await shop.page(f"/orders/{order_id}")
    assert "Shipped" in text_of(page) and "can no longer be cancelled" in text_of(page)
    assert f'action="/orders/{order_id}/cancel"' not in page
    # the cancel button of a page loaded before shipping: order-api refuses, the page says so
    stale = await shop.post(f"/orders/{order_id}/cancel", cancel_form)
    assert "This order can no longer be cancelled." in text_of(await stale.text())
    status = await products("SELECT status FROM orders.orders WHERE id = %s", (order_id,))
    assert status == [{"status": "shipped"}]


async def hold_key_lock(database_url: str, key: str, seconds: float) -> None:
    """Hold order-api's lock of an idempotency key, as a first request still running would."""
    async with aiopg.connect(database_url) as conn, conn.cursor() as cur:
        await cur.execute(
            "SELECT pg_advisory_lock(hashtextextended(%s, %s))", (key, IDEMPOTENCY_LOCK_SEED)
        )
        await asyncio.sleep(seconds)
        await cur.execute(
            "SELECT pg_advisory_unlock(hashtextextended(%s, %s))", (key, IDEMPOTENCY_LOCK_SEED)
        )


async def test_while_the_first_submit_is_in_flight_the_second_waits_for_its_order(
    shop, products, database_url
):
    await shop.add(3)
    fields = await checkout_fields(shop)
    holder = asyncio.create_task(hold_key_lock(database_url, fields["idempotency_key"], 0.4))
    await asyncio.sleep(0.1)  # the lock is taken
    response = await shop.post("/checkout", fields, follow=False)
    await holder
    assert response.status == 303  # it asked again after "in flight" and placed the order
    assert await order_count(products) == 1


async def test_a_submit_in_flight_for_too_long_asks_the_shopper_to_wait(
    shop, products, database_url
):
    await shop.add(3)
    fields = await checkout_fields(shop)
    holder = asyncio.create_task(hold_key_lock(database_url, fields["idempotency_key"], 2.5))
    await asyncio.sleep(0.1)
    html = await shop.post_page("/checkout", fields, status=409)
    await holder
    assert "Your order is still being placed." in text_of(html)
    assert Forms(html).get("/checkout")["idempotency_key"] == fields["idempotency_key"]
    assert await order_count(products) == 0
    assert await shop.cart_quantities() == {3: 1}
