"""`python -m order_api`: serve orders on PORT (default 5001)."""

from kit.serve import run
from order_api.app import create_app
from order_api.settings import SERVICE, load_settings

if __name__ == "__main__":
    run(SERVICE, load_settings, create_app)
