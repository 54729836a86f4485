"""Headless Chromium for the browser tests (tests/e2e, tests/cluster_e2e): Debian's chromium and
chromedriver (hack/dev/deps/frontend.sh installs them), so nothing is downloaded at test time."""

from __future__ import annotations

import os

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver

CHROMIUM = os.environ.get("CHROMIUM_BINARY", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("CHROMEDRIVER_BINARY", "/usr/bin/chromedriver")


def chromium(width: int, height: int) -> webdriver.Chrome:
    """A headless Chromium with a WIDTH x HEIGHT window, driven through chromedriver; the caller
    quits it."""
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (
        "--headless=new",
        "--no-sandbox",  # tests run as root, where Chromium's sandbox cannot start
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-extensions",
        "--no-first-run",
        f"--window-size={width},{height}",
    ):
        options.add_argument(flag)
    return webdriver.Chrome(options=options, service=Service(executable_path=CHROMEDRIVER))


def fill_in(driver: WebDriver, values: dict[str, str]) -> None:
    """Type each value into the form field with that id, as a person would."""
    for field, value in values.items():
        driver.find_element(By.ID, field).send_keys(value)
