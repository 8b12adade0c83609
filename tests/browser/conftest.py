"""Browser fixtures: Debian's Chromium driven by Playwright, offline (shared/ENVIRONMENT.md)."""

import os
import shutil

import pytest

CHROMIUM = os.environ.get("PORTAL_CHROMIUM", "/usr/bin/chromium")
# Quiet, rootless-safe, offline (shared/ENVIRONMENT.md).
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1, EXCLUDE localhost",
]


def missing_tool() -> str | None:
    """What this machine lacks to print and scan in a browser, or None."""
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "playwright (PyPI)"
    if not os.access(CHROMIUM, os.X_OK):
        return f"Chromium at {CHROMIUM} (Debian package chromium)"
    if shutil.which("pdftoppm") is None:
        return "pdftoppm (Debian poppler-utils)"
    return None


@pytest.fixture(scope="module")
def playwright_driver():
    """Playwright's driver for this module (None if the machine lacks a tool): one per thread at a time, so a
    test that needs a browser launched with other flags (the fake camera) launches it from this one."""
    if missing_tool():
        yield None
        return
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        yield playwright


@pytest.fixture(scope="module")
def browser(playwright_driver, tmp_path_factory):
    """Debian's Chromium through Playwright (never `playwright install`), with a fresh profile; None if missing.

    The test, not this fixture, skips or fails, so that under CI=true a missing browser is a failed test.
    """
    if playwright_driver is None:
        yield None
        return
    context = playwright_driver.chromium.launch_persistent_context(
        str(tmp_path_factory.mktemp("chromium-profile")),
        executable_path=CHROMIUM,
        args=CHROMIUM_ARGS,
        headless=True,
    )
    yield context
    context.close()


@pytest.fixture
def live_url(app):
    """The app served on a free local port by a thread of this process.

    Not pytest-flask's live_server: that forks the test process, and a fork taken while Playwright's
    driver and its asyncio threads exist left Chromium's launch hanging now and then.
    """
    import threading

    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=10)
