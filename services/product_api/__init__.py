"""product-api: the catalog (products, categories, search) and the owner of stock."""
