"""frontend: the server-rendered web shop in front of product-api and order-api."""
