"""A picture for every product, drawn here: `GET /pictures/{id}.svg`.

The demo catalog has no photographs, so each product gets an SVG made from its id alone: the same
picture on the catalog, product, cart and confirmation pages (an order line knows only the
product's id), with no call to product-api and no file to ship. The picture never changes for an
id, so browsers may keep it for a day, and an ETag answers revalidations with 304.
"""

from __future__ import annotations

import functools
import hashlib

from aiohttp import web

from kit import validation

CACHE_CONTROL = "public, max-age=86400"

# Abstract motifs on a 160 x 120 canvas: a picture must never show a device the product is not.
_MOTIFS = (
    '<circle cx="80" cy="60" r="38"/><circle cx="80" cy="60" r="22" fill="none" '
    'stroke-width="6" stroke="white"/>',
    '<rect x="44" y="24" width="72" height="72" rx="10" transform="rotate(12 80 60)"/>',
    '<path d="M80 18 122 96H38z"/>',
    '<rect x="30" y="30" width="44" height="60" rx="6"/><rect x="86" y="30" width="44" '
    'height="60" rx="6" opacity=".6"/>',
    '<circle cx="56" cy="60" r="26"/><circle cx="104" cy="60" r="26" opacity=".6"/>',
)


def picture_svg(product_id: int) -> bytes:
    """The picture of a product: a pure function of its id."""
    seed = hashlib.sha256(str(product_id).encode()).digest()
    hue = seed[0] * 360 // 256
    motif = _MOTIFS[seed[1] % len(_MOTIFS)]
    return (
        '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 160 120" role="img" '
        f'aria-hidden="true"><rect width="160" height="120" fill="hsl({hue} 45% 92%)"/>'
        f'<g fill="hsl({hue} 35% 42%)">{motif}</g></svg>'
    ).encode()


@functools.lru_cache(maxsize=4096)  # a catalog page shows 24; ~1 KB per entry
def _picture(product_id: int) -> tuple[bytes, str]:
    body = picture_svg(product_id)
    return body, hashlib.sha256(body).hexdigest()[:16]


async def product_picture(request: web.Request) -> web.Response:
    product_id = validation.positive_id(request.match_info["id"])
    if product_id is None:
        raise web.HTTPNotFound()
    body, etag = _picture(product_id)
    headers = {"Cache-Control": CACHE_CONTROL, "ETag": f'"{etag}"'}
    if request.headers.get("If-None-Match") == f'"{etag}"':
        return web.Response(status=304, headers=headers)
    return web.Response(body=body, content_type="image/svg+xml", headers=headers)
