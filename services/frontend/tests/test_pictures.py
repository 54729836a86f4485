"""Every product has a picture drawn by the shop itself, cacheable and the same on every page."""

import pytest

from frontend.tests.browsing import closed_url


@pytest.fixture
async def shop(make_shop):
    """No API is needed: pictures are drawn by the shop (both APIs are closed ports)."""
    return (await make_shop(closed_url(), closed_url())).client


async def test_a_product_picture_is_an_svg_browsers_may_cache(shop):
    first = await shop.get("/pictures/42.svg")
    assert first.status == 200
    assert first.content_type == "image/svg+xml"
    assert first.headers["Cache-Control"] == "public, max-age=86400"
    body = await first.read()
    assert body.startswith(b"<svg") and body.endswith(b"</svg>")
    again = await shop.get("/pictures/42.svg", headers={"If-None-Match": first.headers["ETag"]})
    assert again.status == 304
    assert await (await shop.get("/pictures/42.svg")).read() == body  # stable per product
    assert await (await shop.get("/pictures/43.svg")).read() != body


@pytest.mark.parametrize("raw", ["0", "-1", "abc", "%C2%B2", "%D9%A1", "9" * 20, "1.5"])
async def test_a_picture_of_no_product_is_404(shop, raw):
    response = await shop.get(f"/pictures/{raw}.svg")
    assert response.status == 404
