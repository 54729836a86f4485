"""`python -m frontend`: serve the web shop on PORT (default 3000)."""

from frontend.app import create_app
from frontend.settings import SERVICE, load_settings
from kit.serve import run

if __name__ == "__main__":
    run(SERVICE, load_settings, create_app)
