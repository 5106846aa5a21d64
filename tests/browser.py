"""Headless Chromium for the page tests, through Selenium and the system's chromedriver.

Selenium's own driver download needs the network, so the driver is the one
Debian's ``chromium-driver`` package installs (``./dev.sh`` set-up installs it
where it can).  Where no browser is installed the page tests are skipped with
a loud reason; where one is required (``CI`` or ``AUTODIFF_BROWSER_REQUIRED``
set, as ``./dev.sh test`` does after installing it) a missing browser fails.
"""

from __future__ import annotations

import os
import shutil
import warnings

import pytest

BROWSERS = ("chromium", "chromium-browser", "google-chrome")
DRIVERS = ("chromedriver", "/usr/bin/chromedriver", "/usr/lib/chromium/chromedriver")


def required() -> bool:
    """Must the browser tests run here (CI, or set-up installed the browser)?"""
    return any(os.environ.get(name, "") not in ("", "0") for name in ("CI", "AUTODIFF_BROWSER_REQUIRED"))


def _found(candidates: tuple[str, ...]) -> str | None:
    return next((path for path in map(shutil.which, candidates) if path), None)


def unavailable(reason: str) -> None:
    """Fail where the browser is required, else skip loudly (a warning in the summary, too)."""
    message = f"BROWSER TESTS NOT RUN: {reason}. The page was not tested in a real browser."
    if required():
        pytest.fail(message + " (required here: CI or AUTODIFF_BROWSER_REQUIRED is set)")
    warnings.warn(message, stacklevel=2)
    pytest.skip(message)


def chromium(width: int = 1400, height: int = 900):
    """A headless Chromium driven by Selenium (the caller quits it)."""
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        unavailable("selenium is not installed (pip install -e '.[test]')")
    browser, driver = _found(BROWSERS), _found(DRIVERS)
    if browser is None or driver is None:
        unavailable("no Chromium and chromedriver found (Debian: apt-get install chromium chromium-driver)")
    options = webdriver.ChromeOptions()
    options.binary_location = browser
    # --no-sandbox: Chromium's sandbox refuses to run as root, as set-up and CI containers do.
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                     f"--window-size={width},{height}", "--force-device-scale-factor=1"):
        options.add_argument(argument)
    return webdriver.Chrome(service=Service(driver), options=options)
