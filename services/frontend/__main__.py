"""`python -m frontend`: serve the web shop on PORT (default 3000)."""

from aiohttp import web

from frontend.app import create_app, freeze_startup_objects
from frontend.settings import SERVICE, Settings, load_settings
from kit.serve import run


def serving_app(settings: Settings) -> web.Application:
    app = create_app(settings)
    app.on_startup.append(freeze_startup_objects)
    return app


if __name__ == "__main__":
    run(SERVICE, load_settings, serving_app)
