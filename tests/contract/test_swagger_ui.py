"""Swagger UI in a real browser: headless Chromium (Debian's package, driven by selenium
through Debian's chromedriver; nothing downloaded) loads /elemental/v1/ui/, authorizes with
both tokens and runs "Try it out" of every operation with the prefilled examples, unedited.

The screenshots of each operation's answer are kept under test-artifacts/swagger-ui/ (or
$ELEMENTAL_TEST_ARTIFACTS/swagger-ui/).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from elemental_core import tokens
from elemental_core.records import Bootstrap
from tests.contract.conftest import ROOT, install_tools
from tests.live import LiveServer

# The examples' names (openapi.yaml) and the private key of the example `pubKey`: the Ed25519
# test key of RFC 8037, appendix A.1, published there.
REGISTRATION, HOST = "demo", "my-host"
RFC_8037_PRIVATE_KEY = (
    b"-----BEGIN PRIVATE KEY-----\n"
    b"MC4CAQAwBQYDK2VwBCIEIJ1hsZ3v/VpguoRK9JLsLMREScVpezJpGXA7rAMcrn9g\n"
    b"-----END PRIVATE KEY-----\n"
)
TIMEOUT_SECONDS = 30
# In the order a host lives them; the bootstrap data is attached before getBootstrap.
STEPS = [
    ("registrations", "getRegistration", 200),
    ("hosts", "createHost", 201),
    ("hosts", "patchHost", 200),
    ("hosts", "getBootstrap", 200),
    ("hosts", "deleteHost", 202),
]


@pytest.fixture(scope="module")
def artifacts() -> Path:
    directory = Path(os.environ.get("ELEMENTAL_TEST_ARTIFACTS", ROOT / "test-artifacts")) / "swagger-ui"
    directory.mkdir(parents=True, exist_ok=True)
    for old in directory.glob("*.png"):
        old.unlink()
    return directory


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    found = install_tools("browser")
    os.environ["SE_OFFLINE"] = "true"  # selenium must never fetch a browser or a driver
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = found["chromium"]
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1400,1600"):
        options.add_argument(argument)
    driver = webdriver.Chrome(options=options, service=Service(executable_path=found["chromedriver"]))
    yield driver
    driver.quit()


def _wait(driver: Any, condition: Any, what: str) -> Any:
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(driver, TIMEOUT_SECONDS).until(condition, message=f"waiting for {what}")


def _authorize(driver: Any, registration_token: str, host_token: str) -> None:
    from selenium.webdriver.common.by import By

    driver.find_element(By.CSS_SELECTOR, ".auth-wrapper .authorize").click()
    for scheme, token in (("registrationToken", registration_token), ("hostToken", host_token)):
        form = _wait(
            driver,
            lambda d, scheme=scheme: next(
                (f for f in d.find_elements(By.CSS_SELECTOR, ".auth-container form") if scheme in f.text),
                False,
            ),
            f"the {scheme} form",
        )
        form.find_element(By.CSS_SELECTOR, "input").send_keys(token)  # as printed: no "Bearer "
        form.find_element(By.CSS_SELECTOR, "button.authorize").click()
        _wait(driver, lambda d, scheme=scheme: _logged_in(d, scheme), f"{scheme} authorized")
    driver.find_element(By.CSS_SELECTOR, ".auth-container .btn-done").click()


def _logged_in(driver: Any, scheme: str) -> bool:
    from selenium.webdriver.common.by import By

    forms = driver.find_elements(By.CSS_SELECTOR, ".auth-container form")
    return any(scheme in form.text and "Logout" in form.text for form in forms)


def _try_it_out(driver: Any, tag: str, operation_id: str, screenshot: Path) -> str:
    """Expands the operation, Try it out, Execute with what is prefilled; the status shown."""
    from selenium.webdriver.common.by import By

    block = driver.find_element(By.ID, f"operations-{tag}-{operation_id}")
    driver.execute_script("arguments[0].scrollIntoView()", block)
    block.find_element(By.CSS_SELECTOR, ".opblock-summary").click()
    _wait(driver, lambda d: block.find_elements(By.CSS_SELECTOR, ".try-out__btn"), "Try it out")[0].click()
    _wait(driver, lambda d: block.find_elements(By.CSS_SELECTOR, ".execute"), "Execute")[0].click()
    status_cell = ".live-responses-table .response .response-col_status"
    status: str = _wait(
        driver,
        lambda d: next((c.text for c in block.find_elements(By.CSS_SELECTOR, status_cell) if c.text), False),
        f"the answer to {operation_id}",
    )
    # The view from the prefilled request (its body, if any) down to the curl line and the answer.
    request = block.find_elements(By.CSS_SELECTOR, ".opblock-section-request-body, .responses-inner")[0]
    driver.execute_script("arguments[0].scrollIntoView()", request)
    driver.save_screenshot(str(screenshot))
    return status.split(maxsplit=1)[0]


def test_every_operation_runs_from_swagger_ui_with_its_examples(
    server: LiveServer, browser: Any, artifacts: Path
) -> None:
    registration = server.make_registration(REGISTRATION)
    host_key = tokens.SigningKey.from_pem(RFC_8037_PRIVATE_KEY)
    host_token = tokens.issue_host_token(host_key, HOST, registration.uri)
    browser.get(f"{server.base_url}/elemental/v1/ui/")
    from selenium.webdriver.common.by import By

    _wait(
        browser, lambda d: len(d.find_elements(By.CSS_SELECTOR, ".opblock")) == len(STEPS), "the operations"
    )
    _authorize(browser, registration.token, host_token)

    store = server.store()
    statuses: dict[str, str] = {}
    for number, (tag, operation_id, _expected) in enumerate(STEPS, start=1):
        if operation_id == "getBootstrap":
            host = store.get_host("default", HOST)
            assert host is not None
            store.attach_bootstrap(host, Bootstrap(config="#cloud-config\nruncmd:\n- echo hello\n"))
        screenshot = artifacts / f"{number}-{operation_id}.png"
        statuses[operation_id] = _try_it_out(browser, tag, operation_id, screenshot)
        assert screenshot.stat().st_size > 0
        if operation_id == "patchHost":
            patched = store.get_host("default", HOST)
            # The examples themselves went out: the example key, the example labels.
            assert patched is not None and patched.pub_key.strip() == host_key.public_pem().strip()
            assert patched.labels["hardware"] == "nuc-13" and patched.labels["location"] == "rack-2"
    assert statuses == {operation_id: str(expected) for _, operation_id, expected in STEPS}
    deleted = store.get_host("default", HOST)
    assert deleted is not None and deleted.deleting
