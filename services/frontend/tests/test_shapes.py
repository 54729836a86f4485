"""The shop's typed view of API answers (frontend/shapes.py) names exactly the fields the APIs'
OpenAPI documents promise: a field added, renamed or dropped on one side fails here."""

from importlib import resources
from typing import get_type_hints

import pytest
import yaml

from frontend import shapes


def schemas(package: str) -> dict:
    text = resources.files(package).joinpath("openapi.yaml").read_text()
    return yaml.safe_load(text)["components"]["schemas"]


CASES = [
    (shapes.Product, "product_api", ("Product",)),
    (shapes.ProductPage, "product_api", ("ProductPage",)),
    (shapes.Category, "product_api", ("Category",)),
    (shapes.Customer, "order_api", ("Customer",)),
    (shapes.OrderLine, "order_api", ("OrderLine",)),
    (shapes.Order, "order_api", ("Order",)),
    (shapes.ShippingAddress, "order_api", ("Order", "shipping_address")),
]


@pytest.mark.parametrize(("shape", "package", "path"), CASES, ids=[c[0].__name__ for c in CASES])
def test_each_shape_has_the_fields_of_its_schema(shape, package, path):
    schema = schemas(package)[path[0]]
    for part in path[1:]:
        schema = schema["properties"][part]
    assert set(get_type_hints(shape)) == set(schema["properties"])
    assert set(schema["required"]) <= set(get_type_hints(shape))
