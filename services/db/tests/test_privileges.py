"""Each service's database role holds only what the service needs (issue 14, least privilege),
proved against the real PostgreSQL with the roles and grants the migrations create:

- order-api's role reaches the catalog only through catalog.reserve_stock / release_stock, which
  run as their narrow owner; it can neither read nor write a catalog table;
- product-api's role cannot see the orders schema at all;
- neither can create objects, read the migration records or log in without its password.
"""

import aiopg
import psycopg2
import pytest

from support import pg

ORDER_API_REFUSED = [
    "SELECT * FROM catalog.products",
    "SELECT name FROM catalog.categories",
    "UPDATE catalog.products SET stock = 999999",
    "UPDATE catalog.products SET price = 0",
    "INSERT INTO catalog.categories (slug, name) VALUES ('x', 'X')",
    "DELETE FROM catalog.products",
    "TRUNCATE catalog.products",
    "CREATE TABLE catalog.sneaky (id int)",
    "CREATE TABLE orders.sneaky (id int)",
    "CREATE TABLE public.sneaky (id int)",
    "CREATE FUNCTION orders.f() RETURNS int LANGUAGE sql AS 'SELECT 1'",
    "SELECT * FROM public.schema_migrations",
    "ALTER ROLE order_api SUPERUSER",
    "SET ROLE catalog_stock",
]
PRODUCT_API_REFUSED = [
    "SELECT * FROM orders.orders",
    "SELECT count(*) FROM orders.order_lines",
    "SELECT * FROM orders.idempotency_keys",
    "UPDATE orders.orders SET status = 'cancelled'",
    "SELECT * FROM orders.claim_idempotency_key('k', 1)",
    "SELECT * FROM orders.place_order('k', 1, 'f', ARRAY[1]::bigint[], ARRAY[1],"
    " 'a@b.io', 'A', '{}', 1)",
    "SELECT * FROM catalog.reserve_stock(ARRAY[1]::bigint[], ARRAY[1])",
    "SELECT catalog.release_stock(ARRAY[1]::bigint[], ARRAY[1])",
    "CREATE TABLE catalog.sneaky (id int)",
    "DROP TABLE catalog.products",
    "ALTER TABLE catalog.products DROP CONSTRAINT products_stock_check",
    "TRUNCATE catalog.products",
    "SELECT * FROM public.schema_migrations",
    "SET ROLE catalog_stock",
]


async def run_as(role: str, statement: str, params: object = None) -> list[tuple]:
    async with aiopg.connect(pg.service_url(role)) as conn, conn.cursor() as cur:
        await cur.execute(statement, params)
        return await cur.fetchall() if cur.description else []


@pytest.fixture
async def catalog(sql):
    await sql("INSERT INTO catalog.categories (slug, name) VALUES ('misc', 'Misc')")
    await sql(
        "INSERT INTO catalog.products (sku, name, category_id, price, stock)"
        " VALUES ('P-1', 'Cable', 1, 10.50, 5)"
    )
    return sql


@pytest.mark.parametrize("statement", ORDER_API_REFUSED)
async def test_order_api_role_is_refused(catalog, statement):
    with pytest.raises(psycopg2.errors.InsufficientPrivilege):
        await run_as("order_api", statement)
    assert await catalog("SELECT stock, price FROM catalog.products") == [
        {"stock": 5, "price": pytest.approx(10.5)}
    ]


@pytest.mark.parametrize("statement", PRODUCT_API_REFUSED)
async def test_product_api_role_is_refused(catalog, statement):
    with pytest.raises(psycopg2.errors.InsufficientPrivilege):
        await run_as("product_api", statement)


async def test_order_api_role_changes_stock_only_through_the_catalog_functions(catalog):
    rows = await run_as(
        "order_api",
        "SELECT product_id, name, unit_price, reserved"
        " FROM catalog.reserve_stock(ARRAY[1]::bigint[], ARRAY[2])",
    )
    assert [(r[0], r[1], str(r[2]), r[3]) for r in rows] == [(1, "Cable", "10.50", True)]
    assert (await catalog("SELECT stock FROM catalog.products"))[0]["stock"] == 3
    await run_as("order_api", "SELECT catalog.release_stock(ARRAY[1]::bigint[], ARRAY[2])")
    assert (await catalog("SELECT stock FROM catalog.products"))[0]["stock"] == 5


async def test_the_stock_functions_run_as_a_narrow_owner_with_a_fixed_search_path(catalog):
    rows = await catalog(
        "SELECT p.proname, pg_get_userbyid(p.proowner) AS owner, p.prosecdef, p.proconfig"
        " FROM pg_proc p WHERE p.pronamespace = 'catalog'::regnamespace"
        " AND p.prorettype <> 'trigger'::regtype ORDER BY 1"
    )
    assert rows == [
        {
            "proname": name,
            "owner": "catalog_stock",
            "prosecdef": True,
            "proconfig": config,
        }
        for name, config in (
            ("release_stock", ["search_path=pg_catalog, pg_temp"]),
            # catalog/0006: its statements read array parameters and are planned once per session
            (
                "reserve_stock",
                ["search_path=pg_catalog, pg_temp", "plan_cache_mode=force_generic_plan"],
            ),
        )
    ]
    # The change-notification triggers' functions (catalog/0005) run as whoever writes, and no
    # service role may call them.
    triggers = await catalog(
        "SELECT p.proname, p.prosecdef,"
        " has_function_privilege('product_api', p.oid, 'EXECUTE') AS product_api,"
        " has_function_privilege('order_api', p.oid, 'EXECUTE') AS order_api"
        " FROM pg_proc p WHERE p.pronamespace = 'catalog'::regnamespace"
        " AND p.prorettype = 'trigger'::regtype ORDER BY 1"
    )
    assert triggers == [
        {"proname": name, "prosecdef": False, "product_api": False, "order_api": False}
        for name in ("notify_catalog_change", "notify_product_change")
    ]
    owner = await catalog(
        "SELECT rolcanlogin, rolsuper FROM pg_roles WHERE rolname = 'catalog_stock'"
    )
    assert owner == [{"rolcanlogin": False, "rolsuper": False}]
    # The owner may touch only what the functions need: no price change, no new rows.
    privileges = await catalog(
        "SELECT has_table_privilege('catalog_stock', 'catalog.products', 'INSERT') AS ins,"
        " has_column_privilege('catalog_stock', 'catalog.products', 'price', 'UPDATE') AS price,"
        " has_column_privilege('catalog_stock', 'catalog.products', 'stock', 'UPDATE') AS stock"
    )
    assert privileges == [{"ins": False, "price": False, "stock": True}]


async def test_the_services_roles_are_plain_login_roles(catalog):
    rows = await catalog(
        "SELECT rolname, rolcanlogin, rolsuper, rolcreaterole, rolcreatedb, rolbypassrls"
        " FROM pg_roles WHERE rolname IN ('product_api', 'order_api') ORDER BY 1"
    )
    assert rows == [
        {
            "rolname": name,
            "rolcanlogin": True,
            "rolsuper": False,
            "rolcreaterole": False,
            "rolcreatedb": False,
            "rolbypassrls": False,
        }
        for name in ("order_api", "product_api")
    ]


async def test_tables_that_later_migrations_add_get_the_same_privileges(catalog):
    """Default privileges: a new catalog table is product-api's, a new orders table order-api's,
    without a grant in the migration that adds it."""
    await catalog("CREATE TABLE catalog.later_table (id int)")
    await catalog("CREATE TABLE orders.later_table (id int)")
    try:
        assert await run_as("product_api", "SELECT * FROM catalog.later_table") == []
        assert await run_as("order_api", "SELECT * FROM orders.later_table") == []
        with pytest.raises(psycopg2.errors.InsufficientPrivilege):
            await run_as("order_api", "SELECT * FROM catalog.later_table")
        with pytest.raises(psycopg2.errors.InsufficientPrivilege):
            await run_as("product_api", "SELECT * FROM orders.later_table")
    finally:
        await catalog("DROP TABLE catalog.later_table, orders.later_table")


async def test_a_service_role_needs_its_password(database_url):
    if pg.server() is None:
        pytest.skip("TEST_DATABASE_URL: this suite does not know how the server authenticates")
    wrong = pg.service_url("order_api").replace(pg.SERVICE_PASSWORDS["order_api"], "wrong-password")
    with pytest.raises(psycopg2.OperationalError, match="password authentication failed"):
        async with aiopg.connect(wrong):
            pass
    assert await run_as("order_api", "SELECT current_user") == [("order_api",)]
