"""A new customer buys something in a real browser: browse, search, add two products, change a
quantity, check out, see the confirmation, look the order up as a returning visitor, cancel."""

from __future__ import annotations

import asyncio
import re

import aiopg
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import Select, WebDriverWait

from support.browser import fill_in

WAIT_SECONDS = 10
PLACE_ORDER = "//button[starts-with(normalize-space(), 'Place order')]"


def query(database_url: str, sql: str, *params: object) -> list[tuple]:
    async def run() -> list[tuple]:
        async with aiopg.connect(database_url) as conn, conn.cursor() as cur:
            await cur.execute(sql, params)
            return await cur.fetchall()

    return asyncio.run(run())


def wait_for_text(driver: WebDriver, text: str) -> None:
    WebDriverWait(driver, WAIT_SECONDS).until(
        ec.text_to_be_present_in_element((By.TAG_NAME, "body"), text)
    )


def heading(driver: WebDriver) -> str:
    return driver.find_element(By.TAG_NAME, "h1").text


def open_first_in_stock(driver: WebDriver) -> str:
    """Click the first product card that says 'In stock'; the product's name."""
    card = driver.find_element(
        By.XPATH, "//li[@class='card'][.//span[contains(@class, 'stock-ok')]]//a"
    )
    name = card.text
    card.click()
    WebDriverWait(driver, WAIT_SECONDS).until(lambda d: heading(d) == name)
    return name


def add_to_cart(driver: WebDriver, name: str) -> None:
    driver.find_element(By.XPATH, "//button[normalize-space()='Add to cart']").click()
    wait_for_text(driver, f"Added {name} to your cart.")
    assert heading(driver) == "Your cart"


def pictures_shown(driver: WebDriver) -> int:
    """How many product pictures the page shows, each loaded (the browser decoded the SVG)."""
    loaded = driver.execute_script(
        "const pics = [...document.querySelectorAll('img.picture')];"
        "return pics.map(p => p.complete && p.naturalWidth > 0);"
    )
    assert all(loaded), f"{loaded.count(False)} product pictures did not load"
    return len(loaded)


PAGES_WITH_PICTURES = {"01-catalog", "02-search", "03-product", "04-cart", "06-confirmation"}


def test_a_customer_buys_and_cancels_in_a_real_browser(stack, browser, screenshot, accessibility):
    problems: dict[str, list[str]] = {}

    def check(page: str) -> None:
        if page in PAGES_WITH_PICTURES:
            browser.execute_script("window.scrollTo(0, document.body.scrollHeight)")
            WebDriverWait(browser, WAIT_SECONDS).until(
                lambda d: d.execute_script(
                    "return [...document.querySelectorAll('img.picture')].every(p => p.complete)"
                )
            )
            assert pictures_shown(browser) >= 1, f"{page} shows no product picture"
        screenshot(browser, page)
        if found := accessibility(browser):
            problems[page] = found

    shop = stack.shop_url
    browser.get(shop + "/")
    assert heading(browser) == "All products"
    assert (
        "240 products" in browser.find_element(By.CSS_SELECTOR, "[data-testid=result-count]").text
    )
    request_id = browser.find_element(By.CSS_SELECTOR, "[data-testid=request-id]").text
    assert re.fullmatch(r"[0-9a-f]{32}", request_id)  # the support reference on every page
    check("01-catalog")

    # search from the header, open a product that is in stock, add it
    box = browser.find_element(By.ID, "search-q")
    box.send_keys("headphones")
    box.submit()
    wait_for_text(browser, "Results for “headphones”")
    check("02-search")
    first = open_first_in_stock(browser)
    check("03-product")
    add_to_cart(browser, first)

    # browse a category, sorted by price, and add a second product
    browser.get(shop + "/")
    browser.find_element(By.LINK_TEXT, "Phones (30)").click()
    wait_for_text(browser, "30 products")
    Select(browser.find_element(By.ID, "sort")).select_by_visible_text("Price (low to high)")
    browser.find_element(By.XPATH, "//button[normalize-space()='Apply']").click()
    WebDriverWait(browser, WAIT_SECONDS).until(lambda d: "sort=price" in d.current_url)
    second = open_first_in_stock(browser)
    add_to_cart(browser, second)
    assert browser.find_element(By.CSS_SELECTOR, "[data-testid=cart-link] .count").text == "2"

    # change the first product's quantity to 2
    row = browser.find_element(By.XPATH, f"//tr[.//a[normalize-space()='{first}']]")
    quantity = row.find_element(By.CSS_SELECTOR, "input[name=quantity]")
    quantity.clear()
    quantity.send_keys("2")
    row.find_element(By.XPATH, ".//button[normalize-space()='Update']").click()
    wait_for_text(browser, "Quantity updated.")
    row = browser.find_element(By.XPATH, f"//tr[.//a[normalize-space()='{first}']]")
    assert row.find_element(By.CSS_SELECTOR, "input[name=quantity]").get_attribute("value") == "2"
    cart_total = browser.find_element(By.CSS_SELECTOR, "[data-testid=cart-total]").text
    check("04-cart")

    # check out: first with a mistake, then right; the button is double-clicked
    browser.find_element(By.LINK_TEXT, "Check out").click()
    wait_for_text(browser, "Shipping address")
    fill_in(
        browser,
        {
            "f-name": "Grace Hopper",
            "f-email": "grace@example.com",
            "f-line1": "1 Compiler Way",
            "f-city": "Arlington",
            "f-postal_code": "22201",
        },
    )
    browser.find_element(
        By.XPATH, "//button[starts-with(normalize-space(), 'Place order')]"
    ).click()
    wait_for_text(browser, "Choose a country we ship to.")
    check("05-checkout-error")
    assert browser.find_element(By.ID, "f-city").get_attribute("value") == "Arlington"
    Select(browser.find_element(By.ID, "f-country")).select_by_visible_text("United States")
    place = browser.find_element(
        By.XPATH, "//button[starts-with(normalize-space(), 'Place order')]"
    )
    browser.execute_script("arguments[0].click(); arguments[0].click();", place)
    wait_for_text(browser, "Thank you! Your order is confirmed.")
    check("06-confirmation")
    order_id = browser.find_element(By.CSS_SELECTOR, "h1 .mono").text
    assert browser.find_element(By.CSS_SELECTOR, "[data-testid=order-status]").text == "Confirmed"
    assert browser.find_element(By.CSS_SELECTOR, "[data-testid=order-total]").text == cart_total
    assert browser.find_element(By.CSS_SELECTOR, "[data-testid=cart-link] .count").text == "0"
    orders = query(stack.database_url, "SELECT id::text, status, total FROM orders.orders")
    assert [(o[0], o[1]) for o in orders] == [(order_id, "confirmed")]  # one order, not two

    # a returning visitor (no cookies) looks the order up by number and e-mail, then cancels
    browser.delete_all_cookies()
    browser.get(f"{shop}/orders/{order_id}")
    assert heading(browser) == "Find an order"
    assert browser.find_element(By.ID, "order-id").get_attribute("value") == order_id
    browser.find_element(By.ID, "lookup-email").send_keys("Grace@Example.com")
    check("07-lookup")
    browser.find_element(By.XPATH, "//button[normalize-space()='Find order']").click()
    wait_for_text(browser, "Shipping to")
    browser.find_element(By.XPATH, "//button[normalize-space()='Cancel this order']").click()
    wait_for_text(browser, "Your order has been cancelled.")
    assert browser.find_element(By.CSS_SELECTOR, "[data-testid=order-status]").text == "Cancelled"
    assert not browser.find_elements(By.XPATH, "//button[normalize-space()='Cancel this order']")
    check("08-cancelled")
    status = query(stack.database_url, "SELECT status FROM orders.orders WHERE id = %s", order_id)
    assert status == [("cancelled",)]
    assert problems == {}, "accessibility (axe-core, WCAG 2.1 A/AA) problems found"


def test_sold_out_products_cannot_be_added(stack, browser, screenshot):
    (product_id,) = query(
        stack.database_url, "SELECT id FROM catalog.products WHERE stock = 0 ORDER BY id LIMIT 1"
    )[0]
    browser.get(f"{stack.shop_url}/products/{product_id}")
    assert "Out of stock" in browser.find_element(By.CSS_SELECTOR, "[data-testid=stock]").text
    button = browser.find_element(By.CSS_SELECTOR, ".add-form button")
    assert not button.is_enabled()
    screenshot(browser, "09-sold-out")


def test_pages_fit_a_phone_screen(stack, phone, screenshot):
    phone.get(stack.shop_url + "/")
    assert heading(phone) == "All products"
    overflow = phone.execute_script(
        "return document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow <= 0, "the catalog scrolls sideways on a phone"
    screenshot(phone, "10-phone-catalog")
    phone.get(stack.shop_url + "/orders/lookup")
    assert phone.execute_script(
        "return document.documentElement.scrollWidth <= document.documentElement.clientWidth"
    )
    screenshot(phone, "11-phone-lookup")


def test_the_sort_menu_shows_the_order_applied(stack, browser, screenshot):
    """Search results come in best-match order and the menu says so; Apply keeps that order."""
    browser.get(stack.shop_url + "/?q=headphones")
    sort = Select(browser.find_element(By.ID, "sort"))
    assert sort.first_selected_option.text == "Best match"
    first_before = browser.find_element(By.CSS_SELECTOR, ".card h2").text
    browser.find_element(By.XPATH, "//button[normalize-space()='Apply']").click()
    WebDriverWait(browser, WAIT_SECONDS).until(lambda d: "sort=relevance" in d.current_url)
    assert Select(browser.find_element(By.ID, "sort")).first_selected_option.text == "Best match"
    assert browser.find_element(By.CSS_SELECTOR, ".card h2").text == first_before
    screenshot(browser, "12-search-best-match")
    browser.get(stack.shop_url + "/")
    assert Select(browser.find_element(By.ID, "sort")).first_selected_option.text == "Name (A-Z)"


def test_a_price_filter_that_is_not_a_price_is_shown_back_with_a_message(
    stack, browser, screenshot
):
    browser.get(stack.shop_url + "/?min_price=abc&max_price=50")
    low = browser.find_element(By.ID, "min-price")
    assert low.get_attribute("value") == "abc"
    assert low.get_attribute("aria-invalid") == "true"
    assert "Enter a price like 25 or 19.99." in browser.find_element(By.ID, "min-price-error").text
    assert browser.find_element(By.ID, "max-price").get_attribute("value") == "50"
    screenshot(browser, "13-price-filter-error")


def test_on_a_phone_results_come_first_and_filters_fold_away(stack, phone, screenshot):
    phone.get(stack.shop_url + "/")
    form = phone.find_element(By.CSS_SELECTOR, ".filter-form")
    assert not form.is_displayed()
    first_card_top = phone.execute_script(
        "return document.querySelector('.card').getBoundingClientRect().top"
    )
    assert first_card_top < phone.execute_script("return window.innerHeight")
    screenshot(phone, "14-phone-filters-folded")
    phone.find_element(By.CSS_SELECTOR, "label[for=show-filters]").click()
    WebDriverWait(phone, WAIT_SECONDS).until(lambda _: form.is_displayed())
    screenshot(phone, "15-phone-filters-open")
