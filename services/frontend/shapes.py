"""The API answers the shop reads, as typed dicts: no cost at run time (templates and views use
them as the JSON they are), but every field is named and typed once. A test keeps each in
agreement with the schema of the same name in the API's OpenAPI document."""

from __future__ import annotations

from typing import Literal, TypedDict


class Product(TypedDict):
    id: int
    sku: str
    name: str
    description: str
    category: str
    price: str  # a decimal string, as the API sends money
    stock: int
    created_at: str
    updated_at: str


class ProductPage(TypedDict):
    items: list[Product]
    total: int
    limit: int
    offset: int


class Category(TypedDict):
    slug: str
    name: str
    product_count: int


class Customer(TypedDict):
    email: str
    name: str


class OrderLine(TypedDict):
    product_id: int
    name: str
    unit_price: str
    quantity: int
    line_total: str


class ShippingAddress(TypedDict):
    line1: str
    line2: str
    city: str
    postal_code: str
    country: str


class Order(TypedDict):
    id: str
    status: Literal["confirmed", "shipped", "delivered", "cancelled"]
    customer: Customer
    shipping_address: ShippingAddress
    items: list[OrderLine]
    total: str
    created_at: str
    updated_at: str
