"""A shopper buys through the frontend Service of the live cluster, in a real Chromium (Debian's,
driven by /usr/bin/chromedriver) through a port-forward: catalog, product, cart, checkout,
confirmation. The order and the stock change are then read from the in-cluster PostgreSQL."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import Select, WebDriverWait

from cluster_e2e.kube import REPO, Cluster
from support.browser import chromium, fill_in

ARTIFACTS = REPO / "test-artifacts" / "cluster_e2e"
WAIT_SECONDS = 20


@pytest.fixture
def browser() -> Iterator[WebDriver]:
    driver = chromium(1280, 1000)
    try:
        yield driver
    finally:
        driver.quit()


def wait_for_text(driver: WebDriver, text: str) -> None:
    WebDriverWait(driver, WAIT_SECONDS).until(
        ec.text_to_be_present_in_element((By.TAG_NAME, "body"), text)
    )


def heading(driver: WebDriver) -> str:
    return driver.find_element(By.TAG_NAME, "h1").text


def snapshot(driver: WebDriver, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    driver.save_screenshot(str(ARTIFACTS / f"{name}.png"))


def test_a_shopper_buys_through_the_frontend_service(seeded: Cluster, frontend_url, browser):
    cluster = seeded
    browser.get(frontend_url + "/")
    assert heading(browser) == "All products"
    snapshot(browser, "01-catalog")

    card = browser.find_element(
        By.XPATH, "//li[@class='card'][.//span[contains(@class, 'stock-ok')]]//a"
    )
    name = card.text
    card.click()
    WebDriverWait(browser, WAIT_SECONDS).until(lambda d: heading(d) == name)
    product_id = re.search(r"/products/(\d+)", browser.current_url).group(1)
    (stock_before,) = cluster.sql(
        f"SELECT stock FROM catalog.products WHERE id = {int(product_id)}"
    )[0]
    orders_before = int(cluster.sql("SELECT count(*) FROM orders.orders")[0][0])

    browser.find_element(By.XPATH, "//button[normalize-space()='Add to cart']").click()
    wait_for_text(browser, f"Added {name} to your cart.")
    assert heading(browser) == "Your cart"
    snapshot(browser, "02-cart")

    browser.find_element(By.LINK_TEXT, "Check out").click()
    wait_for_text(browser, "Shipping address")
    fill_in(
        browser,
        {
            "f-name": "Ada Lovelace",
            "f-email": "ada@example.com",
            "f-line1": "12 Analytical Row",
            "f-city": "London",
            "f-postal_code": "N1 9GU",
        },
    )
    Select(browser.find_element(By.ID, "f-country")).select_by_visible_text("United Kingdom")
    browser.find_element(
        By.XPATH, "//button[starts-with(normalize-space(), 'Place order')]"
    ).click()
    wait_for_text(browser, "Thank you! Your order is confirmed.")
    snapshot(browser, "03-confirmation")
    order_id = browser.find_element(By.CSS_SELECTOR, "h1 .mono").text
    assert browser.find_element(By.CSS_SELECTOR, "[data-testid=order-status]").text == "Confirmed"

    # The in-cluster database has exactly this one new order, and the stock went down by one.
    rows = cluster.sql(
        "SELECT o.status, o.customer_email, l.product_id, l.quantity FROM orders.orders o"
        f" JOIN orders.order_lines l ON l.order_id = o.id WHERE o.id = '{order_id}'"
    )
    assert rows == [["confirmed", "ada@example.com", product_id, "1"]]
    assert int(cluster.sql("SELECT count(*) FROM orders.orders")[0][0]) == orders_before + 1
    (stock_after,) = cluster.sql(
        f"SELECT stock FROM catalog.products WHERE id = {int(product_id)}"
    )[0]
    assert int(stock_after) == int(stock_before) - 1
