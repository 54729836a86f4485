"""`python -m product_api`: serve the catalog on PORT (default 5000)."""

from kit.serve import run
from product_api.app import create_app
from product_api.settings import SERVICE, load_settings

if __name__ == "__main__":
    run(SERVICE, load_settings, create_app)
