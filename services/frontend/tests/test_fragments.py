"""Rendered catalog fragments (fragments.py): reused only for the very answers they were rendered
from, never with another shopper's session data, never staler than the catalog cache."""

import re

from markupsafe import Markup

from frontend.fragments import FragmentCache
from frontend.tests.browsing import HTML, base_url


def test_a_fragment_is_reused_only_for_the_same_answer_objects():
    cache = FragmentCache(max_entries=2)
    renders = []

    def render(answer):
        def run():
            renders.append(answer)
            return Markup(f"<p>{answer['stock']}</p>")

        return run

    answer = {"stock": 3}
    assert cache.get("k", (answer,), render(answer)) == "<p>3</p>"
    assert cache.get("k", (answer,), render(answer)) == "<p>3</p>"
    assert len(renders) == 1
    fresh = {"stock": 3}  # equal, but a new answer (re-read from the API): rendered again
    assert cache.get("k", (fresh,), render(fresh)) == "<p>3</p>"
    changed = {"stock": 1}
    assert cache.get("k", (changed,), render(changed)) == "<p>1</p>"
    assert len(renders) == 3
    for key in ("a", "b", "c"):  # bounded: the oldest entries go
        cache.get(key, (answer,), render(answer))
    assert len(cache) == 2


def cart_count(page: str) -> str:
    return re.search(r'<span class="count">(\d+)</span>', page).group(1)


async def test_a_reused_catalog_fragment_carries_no_other_shoppers_data(
    make_shop, product_api, order_api, products
):
    shop = await make_shop(base_url(product_api), base_url(order_api), CATALOG_CACHE_SECONDS="30")
    jar = shop.client.session.cookie_jar
    await shop.add(3, quantity=2)
    first = await shop.page("/?category=phones")
    assert cart_count(first) == "2"
    shopper_a = {c.key: c.value for c in jar}

    jar.clear()  # another browser, no cookie: the same catalog answers, the fragment reused
    response = await shop.client.get("/?category=phones", headers={**HTML, "X-Request-ID": "b-1"})
    other = await response.text()
    assert cart_count(other) == "0"
    assert 'data-testid="request-id">b-1<' in other
    assert shopper_a["tc_session"] not in other
    assert (
        other.split('<main id="main">')[1].split("</main>")[0]
        == (first.split('<main id="main">')[1].split("</main>")[0])
    )  # the results are the same fragment

    jar.update_cookies(shopper_a, shop.client.make_url("/"))
    assert cart_count(await shop.page("/?category=phones")) == "2"


async def test_without_the_catalog_cache_a_change_shows_on_the_next_page(shop, products):
    assert "Only 3 left" in await shop.page("/?category=phones")
    await products("UPDATE catalog.products SET stock = 1 WHERE id = 4")
    assert "Only 1 left" in await shop.page("/?category=phones")
    await products("UPDATE catalog.products SET name = 'Tiny Phone' WHERE id = 4")
    page = await shop.page("/?category=phones")
    assert "Tiny Phone" in page and "Compact Phone" not in page
