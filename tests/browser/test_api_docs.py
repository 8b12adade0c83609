"""The API documentation page in Chromium: Swagger UI, served by the portal under its own CSP, lists every
operation of /api/v1/openapi.json."""

import pytest

from tests import scanning
from tests.browser.conftest import missing_tool

pytestmark = pytest.mark.browser


def test_the_docs_page_shows_every_operation(app, live_url, browser):
    scanning.require(browser is not None, missing_tool() or "")
    page = browser.new_page()
    refused = []
    page.on(
        "console", lambda message: refused.append(message.text) if "Content Security Policy" in message.text else None
    )
    outside = []
    page.on("request", lambda request: outside.append(request.url) if not request.url.startswith(live_url) else None)
    page.goto(f"{live_url}/api/v1/docs")
    page.wait_for_selector(".opblock", timeout=30_000)
    spec = app.test_client().get("/api/v1/openapi.json").json
    operations = [op for path in spec["paths"].values() for op in path.values()]
    shown = page.inner_text("#swagger-ui")
    for path in spec["paths"]:
        assert path.replace("/api/v1", "") in shown or path in shown, path
    # One block per operation under each of its tags (listShops is under courier and seller).
    assert page.locator(".opblock").count() == sum(len(op["tags"]) for op in operations)
    assert not refused, refused
    assert not outside, outside
    page.close()
