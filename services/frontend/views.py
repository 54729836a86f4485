"""The shop's pages: read input, call an API, render a page or redirect (303 after every POST)."""

from __future__ import annotations

import asyncio
import math
from typing import Any
from urllib.parse import urlencode

from aiohttp import web
from markupsafe import Markup

from frontend.cart import MAX_QUANTITY, Cart, CartFull, PricedCart, price_cart
from frontend.forms import (
    API_FIELDS,
    COUNTRIES,
    PAGE_SIZE,
    SORTS,
    CatalogQuery,
    Checkout,
    new_idempotency_key,
    quantity,
)
from frontend.keys import FRAGMENTS, ORDERS, PRODUCTS
from frontend.pages import PageError, flash, redirect, render, render_fragment
from frontend.service_client import Unavailable, UpstreamError
from frontend.session import checked_form, get_session
from kit.validation import is_uuid, positive_id

LOW_STOCK = 5


def _product_not_found() -> PageError:
    return PageError(
        404, "Product not found", "This product is not in our catalog (any more). Try a search."
    )


# ---- catalog -------------------------------------------------------------------------------


async def catalog(request: web.Request) -> web.Response:
    query = CatalogQuery.parse(request.rel_url.query)
    products = request.app[PRODUCTS]
    # One after the other: both are nearly always in the catalog cache, and two tasks per page
    # cost more than the rare wait for both.
    categories = await products.categories()
    page = await products.list_products(query.api_params())
    if query.q:
        heading = f"Results for “{query.q}”"
    else:
        heading = {c["slug"]: c["name"] for c in categories}.get(query.category, "All products")

    def results() -> Markup:
        total = page["total"]

        def link(**changes: Any) -> str:
            params = query.link_params(**changes)
            return "/?" + urlencode(params) if params else "/"

        return render_fragment(
            request,
            "_catalog.html",
            {
                "query": query,
                "categories": categories,
                "heading": heading,
                "products": page["items"],
                "total": total,
                "page": query.page,
                "pages": max(1, math.ceil(total / PAGE_SIZE)),
                "link": link,
                "sorts": SORTS,
                "low_stock": LOW_STOCK,
            },
        )

    # The query's repr names every field as parsed (typed prices and their errors included).
    fragment = request.app[FRAGMENTS].get(("catalog", repr(query)), (page, categories), results)
    return render(
        request, "catalog.html", {"query": query, "heading": heading, "catalog": fragment}
    )


async def product(request: web.Request) -> web.Response:
    product_id = positive_id(request.match_info["id"])
    if product_id is None:
        raise _product_not_found()
    products = request.app[PRODUCTS]
    categories = await products.categories()  # nearly always cached: no task per page
    item = await products.get_product(product_id)
    if item is None:
        raise _product_not_found()
    in_cart = Cart(get_session(request)).quantity(product_id)
    return render(
        request,
        "product.html",
        {
            "product": item,
            "category_name": {c["slug"]: c["name"] for c in categories}.get(
                item["category"], item["category"]
            ),
            "in_cart": in_cart,
            "max_add": max(0, min(item["stock"], MAX_QUANTITY) - in_cart),
            "low_stock": LOW_STOCK,
        },
    )


# ---- cart ----------------------------------------------------------------------------------


async def cart_page(request: web.Request) -> web.Response:
    cart = Cart(get_session(request))
    priced = await price_cart(request.app[PRODUCTS], cart)
    return render(request, "cart.html", {"cart": priced, "max_quantity": MAX_QUANTITY})


async def cart_add(request: web.Request) -> web.Response:
    form = await checked_form(request)
    product_id = positive_id(str(form.get("product_id", "")))
    if product_id is None:
        raise _product_not_found()
    item = await request.app[PRODUCTS].get_product(product_id)
    if item is None:
        raise _product_not_found()
    back = f"/products/{product_id}"
    wanted = quantity(form.get("quantity"), maximum=MAX_QUANTITY)
    if not wanted:
        flash(request, f"Choose a quantity from 1 to {MAX_QUANTITY}.", "error")
        return redirect(back)
    if item["stock"] == 0:
        flash(request, f"Sorry, {item['name']} is out of stock.", "error")
        return redirect(back)
    cart = Cart(get_session(request))
    allowed = min(item["stock"], MAX_QUANTITY)
    asked = cart.quantity(product_id) + wanted
    try:
        cart.set(product_id, min(asked, allowed))
    except CartFull:
        flash(request, "Your cart is full. Check out or remove something first.", "error")
        return redirect("/cart")
    if asked > allowed:
        flash(request, f"Only {allowed} of {item['name']} available: your cart now has {allowed}.")
    else:
        flash(request, f"Added {item['name']} to your cart.")
    return redirect("/cart")


async def cart_update(request: web.Request) -> web.Response:
    form = await checked_form(request)
    product_id = positive_id(request.match_info["id"])
    cart = Cart(get_session(request))
    if product_id is None or not cart.quantity(product_id):
        flash(request, "That product is not in your cart.", "error")
        return redirect("/cart")
    wanted = quantity(form.get("quantity"), maximum=MAX_QUANTITY)
    if wanted is None:
        flash(request, f"Choose a quantity from 0 to {MAX_QUANTITY}.", "error")
        return redirect("/cart")
    if wanted == 0:
        cart.set(product_id, 0)
        flash(request, "Removed from your cart.")
        return redirect("/cart")
    item = await request.app[PRODUCTS].get_product(product_id)
    if item is not None and wanted > item["stock"] > 0:
        cart.set(product_id, item["stock"])
        flash(request, f"Only {item['stock']} of {item['name']} left; quantity set to that.")
    else:
        cart.set(product_id, wanted)
        flash(request, "Quantity updated.")
    return redirect("/cart")


async def cart_remove(request: web.Request) -> web.Response:
    await checked_form(request)
    product_id = positive_id(request.match_info["id"])
    cart = Cart(get_session(request))
    if product_id is not None and cart.quantity(product_id):
        cart.set(product_id, 0)
        flash(request, "Removed from your cart.")
    return redirect("/cart")


# ---- checkout ------------------------------------------------------------------------------


def _checkout_page(
    request: web.Request,
    *,
    cart: PricedCart,
    form: Checkout,
    key: str,
    status: int = 200,
    problem: str | None = None,
    shortages: list[str] | None = None,
) -> web.Response:
    return render(
        request,
        "checkout.html",
        {
            "cart": cart,
            "form": form,
            "idempotency_key": key,
            "countries": COUNTRIES,
            "problem": problem,
            "shortages": shortages or [],
        },
        status=status,
    )


async def checkout_form(request: web.Request) -> web.Response:
    cart = Cart(get_session(request))
    if not cart.items:
        flash(request, "Your cart is empty.", "error")
        return redirect("/cart")
    priced = await price_cart(request.app[PRODUCTS], cart)
    return _checkout_page(request, cart=priced, form=Checkout(), key=new_idempotency_key())


async def checkout_submit(request: web.Request) -> web.Response:
    form = await checked_form(request)
    session = get_session(request)
    key = str(form.get("idempotency_key", ""))
    if key in session.checkouts:
        # The same form again (reload, back button, double click after the first answered):
        # it already became an order, so show that order instead of placing another.
        return redirect(f"/orders/{session.checkouts[key]}")
    cart = Cart(session)
    if not cart.items:
        flash(request, "Your cart is empty.", "error")
        return redirect("/cart")
    details = Checkout.parse(form)
    priced = await price_cart(request.app[PRODUCTS], cart)
    page = {"cart": priced, "form": details}
    if not is_uuid(key):
        return _checkout_page(
            request,
            **page,
            key=new_idempotency_key(),
            status=400,
            problem="Something went wrong with the form. Please check your details and submit "
            "again.",
        )
    if not details.valid:
        return _checkout_page(request, **page, key=key, status=422)
    try:
        order = await request.app[ORDERS].create_order(details.order_body(cart.items), key)
    except Unavailable:
        # Keep the key: if the order was placed but the answer was lost, submitting the same
        # form again returns that order instead of placing a second one.
        return _checkout_page(
            request,
            **page,
            key=key,
            status=503,
            problem="We could not reach our order system, so your order was not placed yet. "
            "Your cart is saved; please try again in a minute.",
        )
    except UpstreamError as err:
        return _checkout_refused(request, err, page, key)

    order_id = str(order["id"])
    session.remember_order(order_id)
    session.remember_checkout(key, order_id)
    cart.clear()
    flash(request, "Thank you! Your order is confirmed.")
    return redirect(f"/orders/{order_id}")


def _checkout_refused(
    request: web.Request, err: UpstreamError, page: dict[str, Any], key: str
) -> web.Response:
    if err.code == "insufficient_stock":
        return _checkout_page(
            request,
            **page,
            key=new_idempotency_key(),
            status=409,
            problem="Sorry, some items sold out while you were shopping. Your cart is kept; "
            "please adjust it and try again.",
            shortages=_shortages(page["cart"], err.details),
        )
    if err.code == "idempotency_in_flight":
        return _checkout_page(
            request,
            **page,
            key=key,
            status=409,
            problem="Your order is still being placed. Wait a moment, then submit again: you "
            "will not be charged twice.",
        )
    if err.code == "idempotency_key_reused":
        return _checkout_page(
            request,
            **page,
            key=new_idempotency_key(),
            status=422,
            problem="This form was already used for a different order. Please check your "
            "details and submit again.",
        )
    if err.status == 422:
        form: Checkout = page["form"]
        for detail in err.details if isinstance(err.details, list) else []:
            field = API_FIELDS.get(str(detail.get("field")))
            if field:
                form.errors[field] = f"Please check this field ({detail.get('problem')})."
        return _checkout_page(
            request,
            **page,
            key=new_idempotency_key(),
            status=422,
            problem=None if form.errors else "We could not accept this order. Please check it.",
        )
    if err.status in (400, 409, 422):  # any other refusal of this order is the shopper's to fix
        return _checkout_page(
            request,
            **page,
            key=new_idempotency_key(),
            status=422,
            problem="We could not accept this order. Please check your cart and details.",
        )
    raise err


def _shortages(cart: PricedCart, details: Any) -> list[str]:
    names = {line.product_id: line.product["name"] for line in cart.lines if line.product}
    lines = details.get("lines") if isinstance(details, dict) else None
    messages = []
    for line in lines if isinstance(lines, list) else []:
        name = names.get(line.get("product_id"), f"Product {line.get('product_id')}")
        available = line.get("available")
        if available is None:
            messages.append(f"{name} is no longer sold.")
        elif available == 0:
            messages.append(f"{name} is sold out (you asked for {line.get('requested')}).")
        else:
            messages.append(
                f"{name}: only {available} left (you asked for {line.get('requested')})."
            )
    return messages


# ---- orders --------------------------------------------------------------------------------


def _may_view(request: web.Request, order_id: str) -> bool:
    return order_id in get_session(request).orders


async def order_page(request: web.Request) -> web.Response:
    order_id = request.match_info["id"]
    if not _may_view(request, order_id):
        return redirect("/orders/lookup?" + urlencode({"order_id": order_id}))
    order = await request.app[ORDERS].get_order(order_id)
    if order is None:
        raise PageError(404, "Order not found", "We could not find that order.")
    return render(
        request,
        "order.html",
        {"order": order, "can_cancel": order["status"] == "confirmed", "countries": COUNTRIES},
    )


async def lookup_form(request: web.Request) -> web.Response:
    order_id = request.rel_url.query.get("order_id", "").strip().lower()
    return render(
        request,
        "lookup.html",
        {"order_id": order_id if is_uuid(order_id) else "", "email": "", "problem": None},
    )


async def lookup_submit(request: web.Request) -> web.Response:
    form = await checked_form(request)
    order_id = str(form.get("order_id", "")).strip().lower()
    email = str(form.get("email", "")).strip()
    context = {"order_id": order_id[:64], "email": email[:254]}
    if not is_uuid(order_id) or "@" not in email:
        problem = "Enter the order number from your confirmation and the e-mail you used."
        return render(request, "lookup.html", {**context, "problem": problem}, status=422)
    order = await request.app[ORDERS].get_order(order_id)
    if order is None or order["customer"]["email"].casefold() != email.casefold():
        # One message for both cases: the page must not tell whether an order number exists.
        problem = "We could not find an order with that number and e-mail address."
        return render(request, "lookup.html", {**context, "problem": problem}, status=404)
    get_session(request).remember_order(order_id)
    return redirect(f"/orders/{order_id}")


async def cancel_order(request: web.Request) -> web.Response:
    await checked_form(request)
    order_id = request.match_info["id"]
    if not _may_view(request, order_id):
        return redirect("/orders/lookup?" + urlencode({"order_id": order_id}))
    try:
        await request.app[ORDERS].cancel_order(order_id)
    except UpstreamError as err:
        if err.status == 404:
            raise PageError(404, "Order not found", "We could not find that order.") from None
        if err.status != 409:
            raise
        flash(request, "This order can no longer be cancelled.", "error")
    else:
        flash(request, "Your order has been cancelled.")
    return redirect(f"/orders/{order_id}")


# ---- operations ----------------------------------------------------------------------------


async def dependencies(request: web.Request) -> web.Response:
    """Detail of the APIs behind this frontend. Not a probe: /ready must not depend on them."""
    products, orders = request.app[PRODUCTS], request.app[ORDERS]
    checks = await asyncio.gather(products.client.probe(), orders.client.probe())
    report = {products.client.service: checks[0], orders.client.service: checks[1]}
    healthy = all(check["status"] == "ok" for check in checks)
    return web.json_response(
        {"status": "ok" if healthy else "degraded", "dependencies": report},
        status=200 if healthy else 503,
    )
