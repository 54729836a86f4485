"""What the frontend tests share: a shopper's browser over the test client, form parsing,
and how to point the frontend at the APIs (or at an address where nothing listens)."""

from __future__ import annotations

import re
from html.parser import HTMLParser

from localpg import free_port
from support.fixtures import SERVICE_TOKEN

SESSION_SECRET = "frontend-test-session-secret-0123456789"
HTML = {"Accept": "text/html,application/xhtml+xml"}


def frontend_env(product_url: str, order_url: str, **overrides: str) -> dict[str, str]:
    env = {
        "PRODUCT_API_URL": product_url,
        "ORDER_API_URL": order_url,
        "ORDER_API_TOKEN": SERVICE_TOKEN,
        "SESSION_SECRET": SESSION_SECRET,
        "HTTP_TIMEOUT_SECONDS": "2",
        "CATALOG_CACHE_SECONDS": "0",  # tests change stock and must see it at once
        "DRAIN_SECONDS": "0",
        "SHUTDOWN_TIMEOUT_SECONDS": "5",
        "LOG_LEVEL": "WARNING",
    }
    env.update(overrides)
    return env


def closed_url() -> str:
    """A local address where nothing listens: connections are refused, as when an API is down."""
    return f"http://127.0.0.1:{free_port()}"


class Forms(HTMLParser):
    """Every <form> of a page: action, method and the values a browser would submit."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.forms: list[dict] = []
        self._select: str | None = None
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list) -> None:
        a = dict(attrs)
        if tag == "form":
            self.forms.append(
                {
                    "action": a.get("action", ""),
                    "method": a.get("method", "get"),
                    "class": a.get("class", ""),
                    "fields": {},
                }
            )
        elif not self.forms:
            return
        elif tag == "input" and a.get("name"):
            if a.get("type") == "checkbox" and "checked" not in a:
                return
            self.forms[-1]["fields"][a["name"]] = a.get("value", "")
        elif tag == "select":
            self._select = a.get("name")
            self.forms[-1]["fields"].setdefault(self._select, "")
        elif tag == "option" and self._select and "selected" in a:
            self.forms[-1]["fields"][self._select] = a.get("value", "")

    def handle_endtag(self, tag: str) -> None:
        if tag == "select":
            self._select = None

    def get(self, action: str, css_class: str | None = None) -> dict[str, str]:
        for form in self.forms:
            if form["action"] == action and css_class in (None, form["class"]):
                return dict(form["fields"])
        actions = [form["action"] for form in self.forms]
        raise AssertionError(f"no form posting to {action}; the page has {actions}")


def text_of(html: str) -> str:
    """The visible text, whitespace collapsed: what a person reads."""
    html = re.sub(r"<(script|style)\b.*?</\1>", " ", html, flags=re.S)
    return " ".join(re.sub(r"<[^>]+>", " ", html).replace("&#34;", '"').split())


ADDRESS = {
    "name": "Ada Lovelace",
    "email": "ada@example.com",
    "line1": "12 Analytical Street",
    "line2": "",
    "city": "London",
    "postal_code": "N1 7AA",
    "country": "GB",
}


class Shop:
    """A shopper's browser against the frontend: keeps cookies, reads forms, follows redirects."""

    def __init__(self, client, product_url: str = "", order_url: str = "") -> None:
        self.client = client
        self.product_url = product_url
        self.order_url = order_url

    async def page(self, path: str, status: int = 200) -> str:
        response = await self.client.get(path, headers=HTML)
        body = await response.text()
        assert response.status == status, (response.status, text_of(body)[:500])
        return body

    async def submit(
        self, page_path: str, action: str, changes: dict | None = None, *, follow: bool = True
    ):
        """Load `page_path`, fill the form posting to `action`, submit it like a browser."""
        fields = Forms(await self.page(page_path)).get(action)
        fields.update(changes or {})
        return await self.post(action, fields, follow=follow)

    async def post(self, action: str, fields: dict, *, follow: bool = True):
        return await self.client.post(action, data=fields, headers=HTML, allow_redirects=follow)

    async def post_page(self, action: str, fields: dict, status: int = 200) -> str:
        """Submit `fields` to `action` like a browser; the page it ends on, which must have
        answered `status`."""
        response = await self.post(action, fields)
        body = await response.text()
        assert response.status == status, (response.status, text_of(body)[:500])
        return body

    async def add(self, product_id: int, quantity: int = 1):
        response = await self.submit(
            f"/products/{product_id}", "/cart/items", {"quantity": str(quantity)}
        )
        assert response.status == 200
        return response

    async def cart_quantities(self) -> dict[int, int]:
        forms = Forms(await self.page("/cart")).forms
        return {
            int(f["action"].split("/")[3]): int(f["fields"]["quantity"])
            for f in forms
            if re.fullmatch(r"/cart/items/\d+", f["action"])
        }


def base_url(server) -> str:
    """The root URL of an aiohttp test server, without the trailing slash."""
    return str(server.make_url("")).rstrip("/")
