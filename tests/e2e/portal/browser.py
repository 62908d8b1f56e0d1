"""A real Chromium driven by Selenium, for the portal's browser tests: each page is checked
with axe-core and photographed on a desktop and a phone-sized viewport."""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import httpx
import pytest
from entitle_dev.stack import Stack

from tests.e2e.conftest import mails

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
AXE = Path(__file__).parent / "assets" / "axe.min.js"
AXE_SHA256 = "29348999450cdf2849a8e70b7912fc2da85a849da39c0d0d5394f51d4a9ed95c"
SCREENSHOTS = Path(os.environ.get("ENTITLE_SCREENSHOTS_DIR", "var/screenshots"))
DESKTOP = (1280, 900)
PHONE = (390, 844)
VIEWER_ZONE = "America/New_York"


def chromium_or_skip() -> None:
    """Browser tests never skip in CI (`.ci/run` installs chromium): there a missing browser
    fails the run."""
    if CHROMIUM.exists() and CHROMEDRIVER.exists():
        return
    message = "chromium and chromium-driver are not installed (apt-get install them)"
    if os.environ.get("CI") == "true":
        pytest.fail(message)
    pytest.skip(message)


def axe_source() -> str:
    source = AXE.read_bytes()
    assert hashlib.sha256(source).hexdigest() == AXE_SHA256, "axe.min.js is not the vendored one"
    return source.decode()


@dataclass
class Browser:
    driver: Any
    stack: Stack
    downloads: Path
    axe: str
    photographed: list[str] = field(default_factory=list)
    checked: int = 0

    @property
    def portal(self) -> str:
        return self.stack.url("portal")

    def open(self, path_or_url: str) -> None:
        url = path_or_url if path_or_url.startswith("http") else self.portal + path_or_url
        self.driver.get(url)
        self.accessible(url)

    @property
    def text(self) -> str:
        body: str = self.driver.find_element("tag name", "body").text
        return body

    def find(self, css: str) -> Any:
        return self.driver.find_element("css selector", css)

    def all(self, css: str) -> list[Any]:
        found: list[Any] = self.driver.find_elements("css selector", css)
        return found

    def fill(self, css: str, value: str) -> None:
        element = self.find(css)
        element.clear()
        element.send_keys(value)

    def select(self, css: str, value: str) -> None:
        from selenium.webdriver.support.ui import Select

        Select(self.find(css)).select_by_value(value)

    def click(self, css: str, navigates: bool = False) -> None:
        self._then_wait(self.find(css).click, navigates)

    def _then_wait(self, action: Callable[[], None], navigates: bool = True) -> None:
        """Run the click and, when it loads a page, wait until the new page is there."""
        from selenium.common.exceptions import WebDriverException
        from selenium.webdriver.support.ui import WebDriverWait

        # A mark on the old page's window: gone once the next page has loaded.
        self.driver.execute_script("window.__entitleOldPage = true")
        action()
        if not navigates:
            return

        def loaded(driver: Any) -> bool:
            try:
                return bool(
                    driver.execute_script(
                        "return !window.__entitleOldPage && document.readyState === 'complete'"
                    )
                )
            except WebDriverException:  # between two pages
                return False

        WebDriverWait(self.driver, 20).until(loaded)
        self.accessible(self.driver.current_url)

    def submit_with(self, button_text: str) -> None:
        for button in self.all("button[type=submit], main button"):
            if button.text.strip() == button_text and button.is_displayed():
                self._then_wait(button.click)
                return
        raise AssertionError(f"no button {button_text!r} on {self.driver.current_url}")

    def check(self, name: str) -> None:
        """A page to show: accessible (checked on every page anyway), photographed at both
        sizes."""
        self.accessible(name)
        self.photograph(name)

    def accessible(self, name: str) -> None:
        """axe-core, injected into the page, finds no serious or critical violation."""
        self.driver.execute_script(self.axe)
        result = self.driver.execute_async_script(
            "const done = arguments[arguments.length - 1];"
            "axe.run(document, {resultTypes: ['violations']}).then(r => done(r.violations))"
            ".catch(e => done([{id: 'axe-error', impact: 'critical', help: String(e),"
            " nodes: []}]));"
        )
        bad = [v for v in result if v.get("impact") in ("serious", "critical")]
        assert not bad, f"{name}: " + json.dumps(
            [
                {"id": v["id"], "help": v["help"], "nodes": [n["html"] for n in v["nodes"][:3]]}
                for v in bad
            ],
            indent=1,
        )
        self.checked += 1

    def photograph(self, name: str) -> None:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        for label, (width, height) in (("desktop", DESKTOP), ("phone", PHONE)):
            self.driver.set_window_size(width, height)
            full = self.driver.execute_script(
                "return Math.max(document.body.scrollHeight, document.documentElement.scrollHeight)"
            )
            self.driver.set_window_size(width, min(max(height, int(full) + 140), 6000))
            self.driver.save_screenshot(str(SCREENSHOTS / f"{name}-{label}.png"))
        self.driver.set_window_size(*DESKTOP)
        self.photographed.append(name)

    def cookies(self) -> dict[str, str]:
        return {c["name"]: c["value"] for c in self.driver.get_cookies()}

    def http(self) -> httpx.Client:
        """An HTTP client with this browser's cookies (to read statuses, post raw forms)."""
        return httpx.Client(base_url=self.portal, cookies=self.cookies(), timeout=15)

    def csrf(self) -> str:
        token: str = self.find("input[name=csrf_token]").get_attribute("value")
        return token

    # -- email --------------------------------------------------------------------------

    def mail(
        self, to: str, template: str, newer_than: Callable[[EmailMessage], bool] = lambda m: True
    ) -> EmailMessage:
        return wait_for_mail(self.stack, to, template, newer_than)

    def sign_in(self, email: str, next_path: str = "/licenses") -> None:
        """Sign in as a person does: ask for a link, open the email, press the button."""
        from .shop import portal_knows

        portal_knows(self.stack, email)
        before = {m["Message-ID"] for m in mails(self.stack.mail_dir)}
        self.open(f"/sign-in?next={next_path}")
        self.fill("#email", email)
        self.submit_with("Email me a sign-in link")
        assert "Check your email" in self.text
        message = self.mail(email, "sign_in", lambda m: m["Message-ID"] not in before)
        self.open(link_in(message, "/sign-in/link"))
        self.submit_with("Sign in")


def link_in(message: EmailMessage, fragment: str) -> str:
    text = message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    found = re.search(r"(https?://\S*" + re.escape(fragment) + r"\S*)", text)
    assert found, f"no link with {fragment} in {message['Subject']}: {text}"
    return found.group(1)


def links_in(message: EmailMessage) -> list[str]:
    text = message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    return re.findall(r"https?://\S+", text)


def wait_for_mail(
    stack: Stack,
    to: str,
    template: str,
    newer_than: Callable[[EmailMessage], bool] = lambda m: True,
    timeout: float = 60,
) -> EmailMessage:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for message in mails(stack.mail_dir):
            if (
                message["To"] == to
                and message["X-Entitle-Template"] == template
                and newer_than(message)
            ):
                return message
        time.sleep(0.3)
    raise AssertionError(f"no {template} email to {to} after {timeout}s")


def launch(stack: Stack, root: Path) -> Iterator[Browser]:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    profile = root / "profile"
    downloads = root / "downloads"
    downloads.mkdir(parents=True, exist_ok=True)
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for argument in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--disable-dev-shm-usage",
        f"--user-data-dir={profile}",
        f"--window-size={DESKTOP[0]},{DESKTOP[1]}",
    ):
        options.add_argument(argument)
    options.add_experimental_option(
        "prefs",
        {"download.default_directory": str(downloads), "download.prompt_for_download": False},
    )
    service = Service(str(CHROMEDRIVER))
    driver = webdriver.Chrome(service=service, options=options)
    # The viewer lives elsewhere than the server's default zone: pages must follow them.
    driver.execute_cdp_cmd("Emulation.setTimezoneOverride", {"timezoneId": VIEWER_ZONE})
    driver.set_page_load_timeout(30)
    driver.set_script_timeout(60)
    try:
        yield Browser(driver, stack, downloads, axe_source())
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)
