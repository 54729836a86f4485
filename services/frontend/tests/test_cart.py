"""The cart in a signed cookie: add, change, remove, totals; tampering and CSRF are refused."""

from frontend.tests.browsing import Forms, base_url, text_of


async def test_add_two_products_change_a_quantity_and_remove_one(shop):
    added = await shop.add(1, 2)
    text = text_of(await added.text())
    assert "Added Quiet Headphones to your cart." in text
    await shop.add(3)
    assert await shop.cart_quantities() == {1: 2, 3: 1}
    cart = text_of(await shop.page("/cart"))
    assert "$797.50" in cart  # 2 x 199.00 + 399.50
    assert "Cart 3" in text_of(await shop.page("/"))  # the header counts items

    changed = await shop.submit("/cart", "/cart/items/3", {"quantity": "4"})
    assert "Quantity updated." in text_of(await changed.text())
    assert await shop.cart_quantities() == {1: 2, 3: 4}
    assert "$1,996.00" in text_of(await shop.page("/cart"))

    removed = await shop.submit("/cart", "/cart/items/1/remove")
    assert "Removed from your cart." in text_of(await removed.text())
    assert await shop.cart_quantities() == {3: 4}

    zero = await shop.submit("/cart", "/cart/items/3", {"quantity": "0"})
    assert "Your cart is empty." in text_of(await zero.text())


async def test_quantities_are_capped_by_the_stock(shop):
    response = await shop.add(4, 2)
    assert "Added Compact Phone" in text_of(await response.text())
    response = await shop.add(4, 5)  # 7 wanted, 3 in stock
    assert "Only 3 of Compact Phone available" in text_of(await response.text())
    assert await shop.cart_quantities() == {4: 3}
    product = await shop.page("/products/4")
    assert "All available are in your cart" in text_of(product)

    changed = await shop.submit("/cart", "/cart/items/4", {"quantity": "50"})
    assert "Only 3 of Compact Phone left" in text_of(await changed.text())
    assert await shop.cart_quantities() == {4: 3}

    bad = await shop.submit("/cart", "/cart/items/4", {"quantity": "lots"})
    assert "Choose a quantity from 0 to 100." in text_of(await bad.text())
    assert await shop.cart_quantities() == {4: 3}


async def test_sold_out_products_cannot_be_added(shop):
    page = await shop.page("/products/2")
    fields = Forms(page).get("/cart/items")
    fields["quantity"] = "1"  # the disabled input is not submitted by a browser; force it
    response = await shop.post("/cart/items", fields)
    assert "Sorry, Tiny Earbuds is out of stock." in text_of(await response.text())
    assert await shop.cart_quantities() == {}


async def test_the_cart_warns_when_the_catalog_changed(shop, products):
    await shop.add(1, 4)
    await products("UPDATE catalog.products SET stock = 2 WHERE id = 1")
    assert "Only 2 left. Please lower the quantity." in text_of(await shop.page("/cart"))
    await products("UPDATE catalog.products SET active = false WHERE id = 1")
    assert "no longer available" in text_of(await shop.page("/cart"))


async def test_a_tampered_cookie_is_ignored(shop):
    await shop.add(1, 2)
    jar = shop.client.session.cookie_jar
    cookie = next(c for c in jar if c.key == "tc_session")
    body, signature = cookie.value.split(".")
    forged = body[:-2] + ("AA" if body[-2:] != "AA" else "BB") + "." + signature
    jar.update_cookies({"tc_session": forged}, shop.client.make_url("/"))
    assert next(c for c in jar if c.key == "tc_session").value == forged
    assert await shop.cart_quantities() == {}


async def test_posts_without_the_csrf_token_are_refused(shop):
    fields = Forms(await shop.page("/products/1")).get("/cart/items")
    for token in (None, "", "x" * 43):
        forged = dict(fields)
        if token is None:
            del forged["csrf_token"]
        else:
            forged["csrf_token"] = token
        response = await shop.post("/cart/items", forged)
        assert response.status == 403
        assert "This form has expired" in text_of(await response.text())
    assert await shop.cart_quantities() == {}

    as_api = await shop.client.post("/cart/items", data={"product_id": "1", "quantity": "1"})
    assert as_api.status == 403
    assert (await as_api.json())["error"]["code"] == "forbidden"


async def test_a_token_from_another_session_is_refused(shop, make_shop, product_api, order_api):
    other = await make_shop(base_url(product_api), base_url(order_api))
    their_fields = Forms(await other.page("/products/1")).get("/cart/items")
    await shop.page("/products/1")  # this browser has a session (and its own token)
    response = await shop.post("/cart/items", their_fields)
    assert response.status == 403
    assert await shop.cart_quantities() == {}
