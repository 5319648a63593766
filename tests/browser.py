"""Driving the console in a real headless browser: Debian's Chromium through its ChromeDriver,
by Selenium. Where they are not installed, the tests that need them skip and say why."""

import shutil
from collections.abc import Iterator

import pytest

from genroute.local.stack import Stack
from tests.helpers import wait_until

CHROMIUM, DRIVER = shutil.which("chromium"), shutil.which("chromedriver")


def headless_chromium() -> Iterator[object]:
    """A headless Chromium for a module's tests (the `browser` fixture's body)."""
    if CHROMIUM is None or DRIVER is None:
        pytest.skip(
            "no Chromium and ChromeDriver here (`python3 dev.py setup` installs Debian's "
            "chromium and chromium-driver when it runs as root with apt, as in CI)"
        )
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(DRIVER), options=options)
    try:
        yield driver
    finally:
        driver.quit()


def sign_in(driver, stack: Stack, key: str) -> None:
    from selenium.webdriver.common.by import By

    driver.delete_all_cookies()
    driver.get(f"{stack.api_url}/console/")
    driver.find_element(By.ID, "key").send_keys(key)
    driver.find_element(By.CSS_SELECTOR, "form button").click()
    # The sign-in's answer (a redirect on, or the form again) has arrived: a page fetched
    # before it would be replaced by it.
    arrived = "return location.pathname !== '/console/' && document.readyState === 'complete'"
    wait_until(lambda: driver.execute_script(arrived), 10, "the sign-in's answer")


def page_status(driver) -> str:
    return driver.execute_script("return document.querySelector('main').dataset.status")


def table_rows(driver, name: str) -> list[dict[str, str]]:
    """A console table's rows as {heading: text}, in the order shown."""
    return driver.execute_script(
        """const table = document.querySelector(`table[data-table="${arguments[0]}"]`);
        if (!table) return [];
        const heads = [...table.tHead.rows[0].cells].map((cell) => cell.textContent);
        return [...table.tBodies[0].rows].map((row) => Object.fromEntries(
            [...row.cells].map((cell, i) => [heads[i], cell.textContent])));""",
        name,
    )


def loaded_from_network(driver) -> int:
    """How many resources the page fetched beyond itself (every style and script is inline)."""
    return driver.execute_script("return performance.getEntriesByType('resource').length")
