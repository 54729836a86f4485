"""A picture for every product, drawn here: `GET /pictures/{id}.svg`.

The demo catalog has no photographs, so each product gets an SVG made from its id alone: the same
picture on the catalog, product, cart and confirmation pages (an order line knows only the
product's id), with no call to product-api and no file to ship. The picture never changes for an
id, so browsers may keep it for a day, and an ETag answers revalidations with 304.
"""

from __future__ import annotations

import hashlib

from aiohttp import web

from kit import validation

CACHE_CONTROL = "public, max-age=86400"

# (outline, screen) shapes of a few device silhouettes on a 160 x 120 canvas.
_SHAPES = (
    '<rect x="30" y="22" width="100" height="64" rx="6"/><rect x="18" y="88" width="124" '
    'height="10" rx="4"/>',  # laptop
    '<rect x="58" y="14" width="44" height="92" rx="9"/>',  # phone
    '<path d="M46 74a34 34 0 0 1 68 0" fill="none" stroke-width="9"/><rect x="36" y="70" '
    'width="20" height="30" rx="7"/><rect x="104" y="70" width="20" height="30" rx="7"/>',  # audio
    '<rect x="22" y="18" width="116" height="70" rx="5"/><rect x="70" y="88" width="20" '
    'height="14"/><rect x="52" y="100" width="56" height="6" rx="3"/>',  # monitor
    '<rect x="40" y="30" width="80" height="60" rx="8"/><circle cx="104" cy="78" r="4"/>',  # box
)


def picture_svg(product_id: int) -> bytes:
    seed = hashlib.sha256(str(product_id).encode()).digest()
    hue = seed[0] * 360 // 256
    shape = _SHAPES[seed[1] % len(_SHAPES)]
    return (
        '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 160 120" role="img" '
        f'aria-hidden="true"><rect width="160" height="120" fill="hsl({hue} 45% 92%)"/>'
        f'<g fill="hsl({hue} 35% 38%)" stroke="hsl({hue} 35% 38%)">{shape}</g></svg>'
    ).encode()


async def product_picture(request: web.Request) -> web.Response:
    product_id = validation.positive_id(request.match_info["id"])
    if product_id is None:
        raise web.HTTPNotFound()
    body = picture_svg(product_id)
    etag = hashlib.sha256(body).hexdigest()[:16]
    headers = {"Cache-Control": CACHE_CONTROL, "ETag": f'"{etag}"'}
    if request.headers.get("If-None-Match") == f'"{etag}"':
        return web.Response(status=304, headers=headers)
    return web.Response(body=body, content_type="image/svg+xml", headers=headers)
