"""Browsing: categories, search, price filter, sort, pagination, product pages and stock."""

import re

from frontend.tests.browsing import HTML, Forms, text_of


def names(html: str) -> list[str]:
    return re.findall(r'<a class="card-link" href="/products/\d+"><h2>([^<]+)</h2>', html)


async def test_catalog_lists_categories_and_pages_through_products(shop):
    first = await shop.page("/")
    text = text_of(first)
    assert "All products" in text and "30 products" in text
    for category in ("Audio (2)", "Phones (2)", "Accessories (26)"):
        assert category in text
    assert len(names(first)) == 24  # one page
    assert "Page 1 of 2" in text
    assert names(first)[:2] == ["Cable 10", "Cable 11"]  # sorted by name by default

    second = await shop.page("/?page=2")
    assert len(names(second)) == 6
    assert "Page 2 of 2" in text_of(second)
    assert set(names(first)).isdisjoint(names(second))


async def test_category_search_price_and_stock_filters(shop):
    phones = await shop.page("/?category=phones")
    assert sorted(names(phones)) == ["Compact Phone", "Rugged Phone"]
    assert "<h1" in phones and "Phones" in text_of(phones)

    found = await shop.page("/?q=wireless+earbuds")
    assert names(found) == ["Tiny Earbuds"]
    assert "Results for “wireless earbuds”" in text_of(found)

    cheap_audio = await shop.page("/?category=audio&max_price=100")
    assert names(cheap_audio) == ["Tiny Earbuds"]

    in_stock_audio = await shop.page("/?category=audio&in_stock=1")
    assert names(in_stock_audio) == ["Quiet Headphones"]

    by_price = await shop.page("/?category=phones&sort=-price")
    assert names(by_price) == ["Rugged Phone", "Compact Phone"]

    nothing = await shop.page("/?q=zeppelin")
    assert "No products match" in text_of(nothing)


async def test_filters_survive_paging_and_the_filter_form_keeps_them(shop):
    page = await shop.page("/?category=accessories&min_price=6&sort=-price")
    assert "Page 1 of 2" in text_of(page)
    next_link = re.search(r'<a rel="next" href="([^"]+)"', page).group(1).replace("&amp;", "&")
    assert "category=accessories" in next_link and "min_price=6" in next_link
    assert "sort=-price" in next_link and "page=2" in next_link
    fields = Forms(page).get("/", "filter-form")
    assert fields["min_price"] == "6" and fields["sort"] == "-price"


async def test_a_typo_in_a_price_shows_a_hint_not_an_error(shop):
    page = await shop.page("/?min_price=abc&max_price=20")
    assert "Enter a price like 25 or 19.99." in text_of(page)
    assert 'aria-invalid="true"' in page
    # the valid half of the filter still applies
    assert "Compact Phone" in names(page) and "Rugged Phone" not in names(page)

    reversed_range = await shop.page("/?min_price=50&max_price=10")
    assert "must not be below the lowest" in text_of(reversed_range)


async def test_product_page_shows_price_and_stock_levels(shop):
    plenty = text_of(await shop.page("/products/3"))
    assert "Rugged Phone" in plenty and "$399.50" in plenty and "In stock" in plenty

    few = await shop.page("/products/4")
    assert "Only 3 left" in text_of(few)
    assert re.search(r'<button type="submit" class="primary">Add to cart</button>', few)

    sold_out = await shop.page("/products/2")
    assert "Out of stock" in text_of(sold_out)
    assert re.search(r"<button[^>]*disabled[^>]*>Out of stock</button>", sold_out)


async def test_unknown_product_is_a_friendly_404_page_or_json_for_api_clients(shop):
    page = await shop.page("/products/999", status=404)
    text = text_of(page)
    assert "Product not found" in text
    assert "Traceback" not in page
    response = await shop.client.get("/products/999", headers=HTML)
    assert response.headers["X-Request-ID"] in await response.text()  # quoted for support

    for path in ("/products/abc", "/no/such/page"):
        assert "not found" in text_of(await shop.page(path, status=404)).lower()

    api_style = await shop.client.get("/products/999", headers={"Accept": "application/json"})
    assert api_style.status == 404
    assert (await api_style.json())["error"]["code"] == "not_found"


async def test_pages_carry_the_request_id_and_security_headers(shop):
    response = await shop.client.get("/", headers={**HTML, "X-Request-ID": "support-42"})
    assert response.headers["X-Request-ID"] == "support-42"
    assert 'data-testid="request-id">support-42<' in await response.text()
    assert "default-src 'self'" in response.headers["Content-Security-Policy"]
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["Content-Type"] == "text/html; charset=utf-8"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    missing = await shop.client.get("/products/999999", headers=HTML)
    assert missing.status == 404
    assert missing.headers["Content-Type"] == "text/html; charset=utf-8"
    assert missing.headers["Cache-Control"] == "no-store"


async def test_assets_are_served_by_the_app_with_a_content_hash(shop):
    page = await shop.page("/")
    assert "//" not in re.sub(r"https?://(127\.0\.0\.1|localhost)", "", page.split("<body")[0])
    css = re.search(r'href="(/static/shop\.css\?v=[0-9a-f]{12})"', page).group(1)
    response = await shop.client.get(css)
    assert response.status == 200
    assert response.content_type == "text/css"
    assert "immutable" in response.headers["Cache-Control"]
