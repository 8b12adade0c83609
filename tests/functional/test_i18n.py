"""Languages: Accept-Language, the header's language switch, catalogue completeness, Chinese pages per role."""

import re
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from babel.messages.pofile import read_po
from sqlalchemy import select

from portal.extensions import db
from portal.models import Shop, User
from portal.services import accounts, audit
from portal.views import wording

ROOT = Path(__file__).resolve().parent.parent.parent
# Babel reads zh_CN as zh_Hans_CN, so the catalogue may live under either name.
ZH_PO = next(
    path
    for name in ("zh_Hans_CN", "zh_CN")
    if (path := ROOT / "portal" / "translations" / name / "LC_MESSAGES" / "messages.po").exists()
)
ZH = {"Accept-Language": "zh-CN,zh;q=0.9"}
EN = {"Accept-Language": "en-US,en;q=0.9"}


def read_catalog(path: Path, locale: str | None = None):
    with path.open("rb") as f:
        return read_po(f, locale=locale)


def location(response) -> str:
    assert response.status_code in (301, 302, 303, 307, 308), response.status_code
    parts = urlsplit(response.headers["Location"])
    assert not parts.scheme and not parts.netloc, response.headers["Location"]
    return parts.path


def user_locale(app, username: str) -> str | None:
    with app.app_context():
        return accounts.find_user(username).locale


# Choosing the language ------------------------------------------------------------------------


def test_accept_language_picks_the_language(client):
    page = client.get("/login", headers=ZH)
    assert page.status_code == 200
    assert '<html lang="zh-CN"' in page.text
    assert "用户名" in page.text  # "Username"
    assert "登录" in page.text  # "Sign in"
    assert "Sign in" not in page.text

    page = client.get("/login", headers=EN)
    assert '<html lang="en"' in page.text
    assert "Username" in page.text and "Sign in" in page.text
    assert "登录" not in page.text

    # Without Accept-Language: English, the default.
    assert '<html lang="en"' in client.get("/login").text


def test_language_switch_for_a_visitor(client):
    response = client.post("/language/zh_CN", data={"next": "/login?next=/courier/"}, headers=EN)
    assert location(response) == "/login"
    assert response.headers["Location"].endswith("/login?next=/courier/")
    # The choice beats the browser's Accept-Language from now on.
    page = client.get("/login", headers=EN)
    assert '<html lang="zh-CN"' in page.text and "用户名" in page.text

    client.post("/language/en", data={"next": "/login"}, headers=ZH)
    page = client.get("/login", headers=ZH)
    assert '<html lang="en"' in page.text and "Username" in page.text


def test_language_switch_refuses_an_unknown_language_and_a_foreign_next(client):
    response = client.post("/language/fr", data={"next": "/login"})
    assert location(response) == "/"
    with client.session_transaction() as session:
        assert "locale" not in session
    assert '<html lang="en"' in client.get("/login", headers=EN).text

    for target in ("https://evil.example/", "//evil.example/login", ""):
        response = client.post("/language/zh_CN", data={"next": target})
        assert location(response) == "/", target
        assert "evil" not in response.headers["Location"], target


def test_language_switch_is_saved_on_the_account(app, world, login):
    seller = login("seller1")
    response = seller.post("/language/zh_CN", data={"next": "/account/"}, headers=EN)
    assert location(response) == "/account/"
    assert user_locale(app, "seller1") == "zh_CN"
    assert '<html lang="zh-CN"' in seller.get("/account/", headers=EN).text
    # Another browser (a new session, English Accept-Language) gets the account's language.
    elsewhere = login("seller1")
    assert '<html lang="zh-CN"' in elsewhere.get("/account/", headers=EN).text
    # Nobody else's language changed.
    assert user_locale(app, "seller2") is None
    assert '<html lang="en"' in login("seller2").get("/account/", headers=EN).text

    seller.post("/language/en", data={"next": "/account/"})
    assert user_locale(app, "seller1") == "en"
    assert '<html lang="en"' in login("seller1").get("/account/", headers=ZH).text


# The catalogue --------------------------------------------------------------------------------


def extract_messages(directory: Path) -> list:
    """The message ids in the code and templates, extracted as ``make translations-update`` does."""
    pot = directory / "messages.pot"
    command = ["extract", "-F", "portal/translations/babel.cfg", "-k", "_l", "--no-location", "-o", str(pot), "."]
    subprocess.run(
        [sys.executable, "-m", "babel.messages.frontend", *command], cwd=ROOT, check=True, capture_output=True
    )
    return [message.id for message in read_catalog(pot) if message.id]


@pytest.fixture(scope="module")
def extracted(tmp_path_factory) -> list:
    return extract_messages(tmp_path_factory.mktemp("pot"))


def test_every_message_is_translated_to_chinese(extracted):
    assert len(extracted) > 50, "extraction found almost nothing: is babel.cfg still right?"
    catalog = read_catalog(ZH_PO, "zh_CN")

    def translated(msgid) -> bool:
        message = catalog.get(msgid)
        if message is None:
            return False
        strings = message.string if isinstance(message.string, tuple | list) else (message.string,)
        return all(s and s.strip() for s in strings)

    missing = [msgid for msgid in extracted if not translated(msgid)]
    assert not missing, "untranslated in zh_CN (run `make translations-update`, then translate):\n" + "\n".join(
        map(str, missing)
    )


def test_chinese_translations_keep_the_placeholders():
    """A translation that drops or renames a %(name)s placeholder breaks the page at runtime."""
    catalog = read_catalog(ZH_PO, "zh_CN")
    problems = [f"{message.id!r}: {errors}" for message, errors in catalog.check()]
    assert not problems, "\n".join(problems)


# Every page in Chinese ------------------------------------------------------------------------


class _Text(HTMLParser):
    """The visible text of a page: text nodes and the attributes people read."""

    ATTRIBUTES = ("title", "aria-label", "placeholder", "alt")

    def __init__(self):
        super().__init__()
        self.texts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag, attrs):
        if tag in ("script", "style"):
            self._skip += 1
        self.texts.extend(value for name, value in attrs if name in self.ATTRIBUTES and value)

    def handle_endtag(self, tag):
        if tag in ("script", "style") and self._skip:
            self._skip -= 1

    def handle_data(self, data):
        if not self._skip:
            self.texts.append(data)


def visible_texts(html: str) -> set[str]:
    parser = _Text()
    parser.feed(html)
    return {" ".join(text.split()) for text in parser.texts} - {""}


def english_strings(extracted: list) -> set[str]:
    """English messages, from the code and from the catalogue, except those Chinese writes the same way."""
    catalog = read_catalog(ZH_PO, "zh_CN")
    same = {message.id for message in catalog if message.id and message.string == message.id}
    return (
        {msgid for msgid in [*extracted, *(message.id for message in catalog)] if isinstance(msgid, str)} - same - {""}
    )


ROLES = ["anonymous", "operator", "seller1", "packer1", "courier1"]
# Pages each role must reach, so the sweep below cannot pass by reaching nothing.
MUST_REACH = {
    "anonymous": ["/login", "/register"],
    "operator": ["/account/", "/operator/", "/operator/users", "/operator/shops", "/operator/audit"],
    "seller1": ["/account/", "/shops/{shop_id}", "/shops/{shop_id}/subaccounts", "/shops/{shop_id}/staff"],
    "packer1": ["/account/", "/staff/shops/{shop_id}"],
    "courier1": ["/account/", "/courier/", "/courier/shops/{shop_id}"],
}


def get_pages(app, world) -> list[str]:
    """Every GET page without arguments, or with arguments the demo world of seller1's shop fills in."""
    values = {
        "shop_id": world["shops"]["seller1"],
        "grant_id": world["grants"]["courier1:seller1"],
        "staff_id": world["staff"]["packer1:seller1"],
        "user_id": world["users"]["courier1"],
    }
    pages = []
    for rule in app.url_map.iter_rules():
        if "GET" not in rule.methods or rule.endpoint in ("static", "public.healthz"):
            continue
        if not rule.arguments <= values.keys():
            continue
        pages.append(rule.build({arg: values[arg] for arg in rule.arguments})[1])
    return sorted(pages)


# Internal codes (audit events, detail names, import states, True/False) and "job 1"-style targets: a page shows
# them by their names (portal/views/wording.py), never as stored.
_CODE = re.compile(
    r"(?<![\w-])(" + "|".join(map(re.escape, sorted(wording.INTERNAL_CODES, key=len, reverse=True))) + r")(?![\w-])"
    r"|\b(job|pickup|report) \d+\b"
)


def leaked_codes(texts: set[str]) -> list[str]:
    return sorted({match.group(0) for text in texts for match in _CODE.finditer(text)})


def test_seller_subaccounts_page_in_chinese(world, login):
    page = login("seller1").get(f"/shops/{world['shops']['seller1']}/subaccounts", headers=ZH)
    assert page.status_code == 200
    assert '<html lang="zh-CN"' in page.text
    assert "子账号" in page.text


def test_every_page_of_every_role_renders_in_chinese(app, world, login, extracted):
    english = english_strings(extracted)
    pages = get_pages(app, world)
    problems = []
    for role in ROLES:
        client = app.test_client() if role == "anonymous" else login(role)
        reached = set()
        for url in pages:
            response = client.get(url, headers=ZH)
            assert response.status_code < 500, (role, url, response.status_code)
            if response.status_code != 200 or response.mimetype != "text/html":
                continue
            reached.add(url)
            if "<html" in response.text and '<html lang="zh-CN"' not in response.text:  # not an htmx fragment
                problems.append(f"{role} {url}: not marked as Chinese")
            texts = visible_texts(response.text)
            untranslated = sorted(texts & english)
            if untranslated:
                problems.append(f"{role} {url}: English left: {untranslated}")
            codes = leaked_codes(texts)
            if codes:
                problems.append(f"{role} {url}: internal codes shown: {codes}")
        expected = {url.format(shop_id=world["shops"]["seller1"]) for url in MUST_REACH[role]}
        assert expected <= reached, f"{role} did not reach {sorted(expected - reached)}"
    assert not problems, "\n".join(problems)


def test_error_pages_render_in_chinese(client, extracted):
    page = client.get("/no-such-page", headers=ZH)
    assert page.status_code == 404
    assert '<html lang="zh-CN"' in page.text
    assert not visible_texts(page.text) & english_strings(extracted)


def test_messages_from_services_are_translated(client, world):
    """Messages made outside templates (services, forms) follow the language too."""
    response = client.post("/login", data={"username": "seller1", "password": "wrong-password-1"}, headers=ZH)
    assert response.status_code == 401
    assert "用户名或密码错误。" in response.text  # "Wrong username or password."


def test_audit_logs_name_events_and_details_in_chinese(app, world, login):
    """Audit events with codes in every part (event, target, detail names, yes/no, states, lists) read as Chinese."""
    with app.app_context():
        shop = db.session.get(Shop, world["shops"]["seller1"])
        seller = db.session.scalar(select(User).where(User.username == "seller1"))
        audit.record("labels_printed", actor=seller, shop=shop, target="job 1", company="ZTO", count=2)
        audit.record("shop_settings", actor=seller, shop=shop, privacy_labels=False, check_goods=True)
        audit.record("orders_imported", actor=seller, shop=shop, target="orders.csv", created=3, updated=0, skipped=1)
        audit.record("recipient_viewed", actor=seller, shop=shop, target="7 orders", order_nos=["1", "2"])
        audit.record("membership_left", actor=seller, target="x@ZTO", membership=1, was="confirmed")
        db.session.commit()
    pages = {
        "seller1": f"/shops/{world['shops']['seller1']}/audit",
        "operator": "/operator/audit",
    }
    for role, url in pages.items():
        page = login(role).get(url, headers=ZH)
        assert page.status_code == 200
        texts = visible_texts(page.text)
        assert not leaked_codes(texts), (role, leaked_codes(texts))
        for shown in ("打印面单", "打印任务 1", "快递公司: ZTO", "隐私面单: 否", "打包时验货: 是", "7 个订单"):
            assert shown in page.text, (role, shown)
    # The codes are still there for whoever reads the page's source (and the English page names them in English).
    english = login("operator").get("/operator/audit", headers=EN).text
    assert "Labels printed" in english and "print job 1" in english and "check the goods when packing: yes" in english


def test_no_expiry_is_not_never(world, login):
    """A sub-account without an end date is 长期有效 (valid until revoked), not 从未 ("never")."""
    page = login("seller1").get(f"/shops/{world['shops']['seller1']}/subaccounts", headers=ZH).text
    assert "长期有效" in page


def test_a_code_that_reaches_a_page_is_caught():
    """The sweep above cannot pass by failing to see codes."""
    assert leaked_codes({"标签 labels_printed", "job 12", "True"}) == ["True", "job 12", "labels_printed"]
    assert leaked_codes({"打印任务 12", "是", "订单 2024-labels_printed-x"}) == []
