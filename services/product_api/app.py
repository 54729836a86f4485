"""product-api application factory: the kit's base app plus the catalog routes."""

from __future__ import annotations

from aiohttp import web

from kit.app import add_openapi_route, create_base_app
from kit.keys import METRICS
from product_api import views
from product_api.keys import PRODUCT_CACHE, SETTINGS
from product_api.read_cache import CacheMetrics, ProductCache, listener_context
from product_api.settings import SERVICE, Settings


def create_app(settings: Settings) -> web.Application:
    app = create_base_app(SERVICE, settings.http, settings.database)
    app[SETTINGS] = settings
    if settings.cache_max_entries > 0:
        cache = ProductCache(
            max_entries=settings.cache_max_entries, max_bytes=settings.cache_max_bytes
        )
        app[PRODUCT_CACHE] = cache
        CacheMetrics(app[METRICS], cache)
        app.cleanup_ctx.append(
            listener_context(
                cache,
                settings.database.url.reveal(),
                application_name=f"{SERVICE} cache listener",
            )
        )
    add_routes(app.router)
    add_openapi_route(app, "product_api")
    return app


def add_routes(router: web.UrlDispatcher) -> None:
    router.add_get("/products", views.list_products, name="products")
    router.add_post("/products", views.create_product)
    router.add_get("/products/{id}", views.get_product, name="product")
    router.add_patch("/products/{id}", views.patch_product)
    router.add_delete("/products/{id}", views.delete_product)
    router.add_post("/products/{id}/stock", views.adjust_stock, name="product_stock")
    router.add_get("/categories", views.list_categories, name="categories")
