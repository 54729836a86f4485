"""The database: both schemas' migrations, their runner and the privileges of each service.

db/migrations/catalog/NNNN_name.sql   product-api's schema `catalog` (applied first)
db/migrations/orders/NNNN_name.sql    order-api's schema `orders` (calls catalog's functions)
db/migrate.py                         `python -m db.migrate`, also the Kubernetes migration Job

Each service connects with its own PostgreSQL role. The roles and every grant are migrations
(catalog/0003_privileges.sql, orders/0003_privileges.sql); the passwords come from the
environment of the migration run (PRODUCT_API_DB_PASSWORD, ORDER_API_DB_PASSWORD).
"""
