"""The database: both schemas' migrations, their runner and the privileges of each service.

db/migrations/catalog/NNNN_name.sql   product-api's schema `catalog` (applied first)
db/migrations/orders/NNNN_name.sql    order-api's schema `orders` (calls catalog's functions)
db/migrate.py                         `python -m db.migrate`, also the Kubernetes migration Job
"""
