"""The operator's day in a real Chromium at 1440x1000 (selenium + chromedriver).

A real web server, a real Celery worker and the Azure simulator: sign in, onboard a
tenant with Test connection, watch the first poll, see a finding appear after a change
in "Azure", open it, acknowledge it, create an exception. Every page is checked for
server errors and horizontal overflow and saved under ``var/screenshots/``.
Skipped (with the reason) where Chromium or chromedriver is missing.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import start_celery, subprocess_env

ROOT = Path(__file__).resolve().parents[2]
SHOTS = ROOT / "var" / "screenshots"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")

pytestmark = [
    pytest.mark.integration,
    pytest.mark.xdist_group("celery"),
    pytest.mark.skipif(
        not (CHROMIUM and CHROMEDRIVER),
        reason="browser suite skipped: chromium and chromedriver are not installed "
        "(Debian: apt-get install chromium chromium-driver; `make test` does it as root)",
    ),
]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()


@pytest.fixture(scope="module")
def azure_env(sim) -> dict[str, str]:
    """The product's Azure endpoints pointed at the simulator, for child processes."""
    return {
        "AZURE_AUTHORITY_HOST": sim.base_url,
        "AZURE_ARM_ENDPOINT": sim.base_url,
        "AZURE_GRAPH_ENDPOINT": sim.base_url,
        "AZURE_CA_BUNDLE": str(sim.ca_path),
    }


@pytest.fixture(scope="module")
def web(session_tenants, azure_env, tmp_path_factory) -> Iterator[str]:
    """``manage.py runserver`` on a free port and a Celery worker, both on the test DB."""
    logs = tmp_path_factory.mktemp("e2e")
    port = _free_port()
    env = subprocess_env(**azure_env, DJANGO_DEBUG="true")
    server = subprocess.Popen(
        [sys.executable, "manage.py", "runserver", f"127.0.0.1:{port}", "--noreload"],
        cwd=ROOT,
        env=env,
        stdout=(logs / "web.log").open("w"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    worker = start_celery(
        [
            "worker",
            "-Q",
            "poll,drift,default",
            "--concurrency",
            "1",
            "--loglevel",
            "INFO",
            "-n",
            f"e2e-{uuid.uuid4().hex[:6]}@%h",
        ],
        logs / "worker.log",
        **azure_env,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            urllib.request.urlopen(f"{base}/healthz", timeout=2)  # noqa: S310 - loopback
            break
        except OSError:
            if time.monotonic() > deadline or server.poll() is not None:
                raise AssertionError((logs / "web.log").read_text()[-3000:]) from None
            time.sleep(0.3)
    yield base
    _stop(worker)
    _stop(server)


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    from selenium import webdriver
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service

    options = Options()
    options.binary_location = CHROMIUM
    for arg in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--window-size=1440,1000",
    ):
        options.add_argument(arg)
    driver = webdriver.Chrome(options=options, service=Service(CHROMEDRIVER))
    driver.implicitly_wait(0)
    yield driver
    driver.quit()


@pytest.fixture
def operator(django_db_blocker) -> tuple[str, str]:
    """An MSP admin with a password, committed so the server process sees it."""
    from tests.factories import UserFactory

    password = f"pw-{uuid.uuid4().hex}"
    with django_db_blocker.unblock():
        user = UserFactory(
            username=f"e2e-{uuid.uuid4().hex[:8]}", role_name="MSP Admin", is_superuser=True
        )
        user.set_password(password)
        user.save()
        from allauth.account.models import EmailAddress

        EmailAddress.objects.update_or_create(
            user=user, email=user.email, defaults={"verified": True, "primary": True}
        )
    return user.username, password


def check_page(driver, name: str) -> None:
    """No server error, no horizontal overflow at 1440 px; the page saved as a screenshot."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    driver.save_screenshot(str(SHOTS / f"{name}.png"))
    text = driver.find_element("tag name", "body").text
    for marker in ("Server Error", "Traceback", "Exception Value", "Page not found"):
        assert marker not in text and marker not in driver.title, (name, marker)
    widths = driver.execute_script(
        "const c = document.getElementById('content') || document.querySelector('main')"
        " || document.body;"
        "return [c.scrollWidth, c.clientWidth, document.documentElement.scrollWidth,"
        " window.innerWidth];"
    )
    content_scroll, content_client, page_scroll, viewport = widths
    assert content_scroll <= content_client + 1, f"{name}: content overflows {widths}"
    assert page_scroll <= viewport, f"{name}: page overflows {widths}"


def wait_for(driver, css: str, timeout: float = 30, text: str | None = None):
    from selenium.common.exceptions import TimeoutException
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    wait = WebDriverWait(driver, timeout)
    try:
        if text is not None:
            wait.until(ec.text_to_be_present_in_element((By.CSS_SELECTOR, css), text))
        return wait.until(ec.visibility_of_element_located((By.CSS_SELECTOR, css)))
    except TimeoutException:
        SHOTS.mkdir(parents=True, exist_ok=True)
        driver.save_screenshot(str(SHOTS / "failure.png"))
        body = driver.find_element(By.TAG_NAME, "body").text[:2000]
        raise AssertionError(f"no {css!r} ({text!r}) at {driver.current_url}:\n{body}") from None


def wait_until(predicate, timeout: float = 60, what: str = "") -> object:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.5)
    raise AssertionError(f"timed out waiting for {what}")


def test_operator_onboards_a_tenant_and_acts_on_its_first_finding(
    web, browser, operator, make_tenant, sim_client, django_db_blocker
):
    from selenium.webdriver.common.by import By

    from configurations.models import Configuration, PollRun
    from drift.models import DriftException, DriftFinding
    from tenants.models import Tenant

    driver = browser
    username, password = operator
    simulated = make_tenant(subscriptions=1, resources=40)
    slug = f"e2e-{uuid.uuid4().hex[:6]}"

    def in_schema(fn):
        from django_tenants.utils import tenant_context

        with django_db_blocker.unblock():
            tenant = Tenant.objects.filter(slug=slug).first()
            if tenant is None:
                return None
            with tenant_context(tenant):
                return fn()

    # Sign in with a local account.
    driver.get(f"{web}/accounts/login/")
    wait_for(driver, "#local-login")
    check_page(driver, "01-login")
    driver.find_element(By.NAME, "login").send_keys(username)
    driver.find_element(By.NAME, "password").send_keys(password)
    driver.find_element(By.CSS_SELECTOR, "#local-login button[type=submit]").click()
    wait_for(driver, "#fleet")
    check_page(driver, "02-fleet")

    # Onboard on one screen: identity, a new credential, Test connection.
    driver.get(f"{web}/admin/tenants/tenant/add/")
    fields = {
        "name": "E2E Customer",
        "slug": slug,
        "azure_tenant_id": simulated["tenant_id"],
        "new_credential_name": f"{slug} reader",
        "new_client_id": simulated["client_id"],
        "new_client_secret": simulated["client_secret"],
    }
    for name, value in fields.items():
        driver.find_element(By.NAME, name).send_keys(value)
    driver.find_element(By.ID, "test-connection").click()
    summary = wait_for(driver, "#preflight-summary", timeout=60)
    assert "all checks passed" in summary.text, summary.text
    assert driver.find_element(By.ID, "preflight-checks").is_displayed()
    check_page(driver, "03-onboard-test-connection")
    driver.find_element(By.CSS_SELECTOR, "input[name=_save]").click()
    wait_for(driver, "#poll-progress")
    assert "Onboarded E2E Customer" in driver.find_element(By.CSS_SELECTOR, ".messagelist").text

    # The first poll (queued by onboarding, run by the worker) shows on the page.
    wait_until(
        lambda: in_schema(lambda: PollRun.objects.filter(status="succeeded").exists()),
        what="the first collection pass",
    )
    driver.refresh()
    wait_for(driver, "#poll-progress", text="succeeded")
    check_page(driver, "04-tenant-first-poll")

    # Someone opens SSH to the Internet in "Azure"; Poll now finds it.
    nsg = in_schema(
        lambda: Configuration.objects.filter(
            resource_type="microsoft.network/networksecuritygroups"
        ).first()
    )
    wait_until(
        lambda: in_schema(lambda: __import__("drift.models").models.Baseline.objects.exists()),
        what="the first baseline",
    )
    sim_client.open_inbound_port(nsg.resource_id, caller="alice@contoso.com")
    driver.find_element(By.ID, "poll-now").click()
    wait_for(driver, ".messagelist", text="Queued a collection pass")
    finding = wait_until(
        lambda: in_schema(
            lambda: DriftFinding.objects.filter(path__contains="zz-open-ssh").first()
        ),
        what="the finding",
    )

    # The findings list: the new finding, by name, worst first.
    driver.get(f"{web}/t/{slug}/admin/drift/driftfinding/")
    row = wait_for(driver, "#result_list tbody tr")
    assert "CRITICAL" in row.text and nsg.resource_name in row.text
    assert "alice@contoso.com" in row.text
    check_page(driver, "05-findings")

    # The finding page: headline, focus, actions.
    row.find_element(By.LINK_TEXT, nsg.resource_name).click()
    headline = wait_for(driver, "#finding-headline")
    assert "alice@contoso.com" in headline.text and "critical" in headline.text.lower()
    assert driver.title.startswith(nsg.resource_name)
    assert driver.find_element(By.ID, "focus").is_displayed()
    assert not driver.find_elements(By.CSS_SELECTOR, "input[value=Save]")
    check_page(driver, "06-finding")
    driver.find_element(By.ID, "act-acknowledge").click()
    wait_for(driver, "#finding-status", text="acknowledged")
    form = driver.find_element(By.ID, "exception-form")
    form.find_element(By.NAME, "reason").send_keys("Change window CHG-1234")
    form.find_element(By.ID, "act-exception").click()
    wait_for(driver, ".messagelist", text="Exception created")
    check_page(driver, "07-finding-after-exception")
    assert in_schema(
        lambda: DriftException.objects.filter(reason="Change window CHG-1234").exists()
    )
    assert in_schema(lambda: DriftFinding.objects.get(pk=finding.pk).exception_id) is not None

    # The whole-resource diff unfolds inside the page (wrapped, no overflow).
    driver.find_element(By.CSS_SELECTOR, "#full-diff summary").click()
    check_page(driver, "08-finding-full-diff")

    # The customer's posture page and the exceptions list.
    driver.get(f"{web}/t/{slug}/")
    wait_for(driver, "#severity-counts")
    check_page(driver, "09-customer-page")
    driver.get(f"{web}/t/{slug}/admin/drift/driftexception/")
    assert "Change window CHG-1234" in wait_for(driver, "#result_list").text
    check_page(driver, "10-exceptions")
