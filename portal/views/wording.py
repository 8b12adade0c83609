"""What the pages say for internal codes: audit events and their details, import states, order sources, yes/no.

Codes are stored in English (``labels_printed``, ``applied``, ``True``); a page shows them in the reader's language
through these filters, so no code reaches a Chinese page. An unknown code (a new event not named here yet) is
shown as it is, rather than hidden.
"""

import re
from datetime import datetime
from typing import Any

from flask_babel import format_datetime, ngettext
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from portal.services import orders

AUDIT_ACTIONS = {
    "addresses_exported": _l("Addresses exported"),
    "batch_closed": _l("Batch closed"),
    "batch_made": _l("Batch made"),
    "courier_company_added": _l("Courier company added"),
    "details_purged": _l("Buyer details purged"),
    "evidence_viewed": _l("Evidence viewed"),
    "exemption_approved": _l("Exemption approved"),
    "exemption_rejected": _l("Exemption rejected"),
    "exemption_filed": _l("Exemption filed"),
    "exemption_one_click": _l("One-click exemption filed"),
    "grant_changed": _l("Sub-account changed"),
    "grant_created": _l("Sub-account created"),
    "grant_revoked": _l("Sub-account revoked"),
    "invitation_cancelled": _l("Invitation cancelled"),
    "invitation_created": _l("Invitation created"),
    "invitation_redeemed": _l("Invitation redeemed"),
    "label_reprinted": _l("Label reprinted"),
    "labels_printed": _l("Labels printed"),
    "labels_reprinted": _l("Labels reprinted"),
    "login": _l("Signed in"),
    "login_failed": _l("Sign-in failed"),
    "logout": _l("Signed out"),
    "membership_confirmed": _l("Company membership confirmed"),
    "membership_left": _l("Company membership ended"),
    "membership_requested": _l("Company membership requested"),
    "membership_revoked": _l("Company membership revoked"),
    "order_cancelled": _l("Order cancelled"),
    "order_created": _l("Order created"),
    "orders_imported": _l("Orders imported"),
    "orders_shipped": _l("Orders shipped"),
    "orders_upserted": _l("Orders sent through the API"),
    "outlet_declared": _l("Outlet status declared"),
    "outlet_declaration_ended": _l("Outlet status ended"),
    "password_changed": _l("Password changed"),
    "password_set": _l("One-time password set"),
    "pickup_ended": _l("Pickup ended"),
    "print_job_opened": _l("Print job opened"),
    "proposal_dismissed": _l("Region proposal dismissed"),
    "proposal_published": _l("Region proposal published"),
    "range_created": _l("Number range added"),
    "recipient_revealed": _l("Hidden details revealed"),
    "recipient_viewed": _l("Recipient details viewed"),
    "region_ended": _l("Anomaly region ended"),
    "region_published": _l("Anomaly region published"),
    "regions_imported": _l("Anomaly regions imported"),
    "register": _l("Registered"),
    "shop_created": _l("Shop opened"),
    "shop_settings": _l("Shop settings changed"),
    "staff_added": _l("Staff added"),
    "staff_print_switch": _l("Staff print switch changed"),
    "staff_removed": _l("Staff removed"),
    "token_created": _l("API token created"),
    "token_revoked": _l("API token revoked"),
    "tracking_imported": _l("Tracking numbers imported"),
    "user_disabled": _l("Login disabled"),
    "user_enabled": _l("Login enabled"),
    "waybill_voided": _l("Tracking number voided"),
    "waybills_allocated": _l("Tracking numbers allocated"),
}

DETAIL_KEYS = {
    "as": _l("shown as"),
    "autoprint": _l("print at once"),
    "check": _l("check digit"),
    "check_goods": _l("check the goods when packing"),
    "company": _l("courier company"),
    "count": _l("count"),
    "created": _l("new"),
    "declaration_id": _l("declaration"),
    "detail_days": _l("details open to couriers (days)"),
    "evidence_files": _l("evidence files"),
    "evidence_id": _l("evidence"),
    "exempted": _l("orders exempted"),
    "expires_at": _l("expires"),
    "export_addresses": _l("Export addresses"),
    "files": _l("files"),
    "first": _l("first number"),
    "format": _l("format"),
    "invitation": _l("invitation"),
    "kind": _l("kind"),
    "label": _l("label"),
    "last": _l("last number"),
    "mark_shipped": _l("Mark shipped"),
    "membership": _l("membership"),
    "name": _l("name"),
    "new_login": _l("new login"),
    "not_handed_over": _l("not handed over"),
    "order_nos": _l("orders"),
    "orders": _l("orders"),
    "pages": _l("pages"),
    "parcels": _l("parcels"),
    "pattern": _l("number pattern"),
    "print_labels": _l("Print labels"),
    "privacy_labels": _l("privacy labels"),
    "promise_hours": _l("ship within (hours)"),
    "proposal_id": _l("proposal"),
    "range_id": _l("range"),
    "reason": _l("reason"),
    "region_id": _l("region"),
    "regions": _l("regions"),
    "report_id": _l("report"),
    "require_packed_for_pickup": _l("pickup needs packing"),
    "retention_days": _l("buyer details kept (days)"),
    "scopes": _l("scopes"),
    "sender_address": _l("ship-from address"),
    "sender_name": _l("sender name"),
    "sender_phone": _l("sender phone"),
    "sender_phone_public": _l("business line"),
    "skipped": _l("skipped"),
    "source_job": _l("from print job"),
    "token_id": _l("token"),
    "tracking_no": _l("tracking number"),
    "tracking_nos": _l("tracking numbers"),
    "unchanged": _l("unchanged"),
    "until": _l("until"),
    "updated": _l("updated"),
    "via": _l("through"),
    "view_recipient": _l("View recipient details"),
    "was": _l("was"),
}

# Detail values that are codes too.
DETAIL_VALUES = {
    "api": _l("the API"),
    "web": _l("the web pages"),
    "scan": _l("a scan"),
    "queue": _l("the queue"),
    "offline": _l("the offline queue"),
    "html": "HTML",
    "pdf": "PDF",
    "zpl": "ZPL",
    "tspl": "TSPL",
    "requested": _l("requested"),
    "confirmed": _l("confirmed"),
    "revoked": _l("revoked"),
    "masked": _l("masked"),
    "full": _l("in full"),
    "no_pickup": _l("no pickups"),
    "no_delivery": _l("no deliveries"),
}

IMPORT_STATES = {
    "checking": _l("checking"),
    "preview": _l("waiting for confirmation"),
    "applying": _l("importing"),
    "applied": _l("imported"),
    "failed": _l("failed"),
    "discarded": _l("discarded"),
}

# What an import does with a previewed order.
IMPORT_ACTIONS = {"new": _l("new order"), "update": _l("refreshed"), "skip": _l("skipped: already in work")}

ORDER_SOURCES = {"import": _l("import"), "api": _l("API"), "manual": _l("by hand")}

# Targets written as "<kind> <id>" (services/printing, scanning, exemptions) or "<n> orders" (audit.record_per_shop).
_TARGET = re.compile(r"^(job|pickup|report) (\d+)$")
_ORDERS_TARGET = re.compile(r"^(\d+) orders$")
_MAX_LIST = 10


def yes_no(value: Any) -> str:
    return _("yes") if value else _("no")


def audit_action(action: str) -> str:
    label = AUDIT_ACTIONS.get(action)
    return action if label is None else str(label)


def audit_target(target: str) -> str:
    if match := _TARGET.match(target or ""):
        kind, number = match.groups()
        names = {"job": _("print job %(n)s", n=number), "pickup": _("pickup %(n)s", n=number)}
        return names.get(kind) or _("report %(n)s", n=number)
    if match := _ORDERS_TARGET.match(target or ""):
        n = int(match.group(1))
        return ngettext("%(num)d order", "%(num)d orders", n)
    return target or ""


def detail_value(value: Any) -> str:
    """A detail's value as a reader sees it: yes/no, a date, a short list, a state or code by its name."""
    if value is None or value == "":
        return "—"
    if isinstance(value, bool):
        return yes_no(value)
    if isinstance(value, list | tuple):
        shown = ", ".join(detail_value(item) for item in value[:_MAX_LIST])
        return shown + (f", … (+{len(value) - _MAX_LIST})" if len(value) > _MAX_LIST else "")
    if isinstance(value, dict):
        return ", ".join(f"{detail_key(k)}: {detail_value(v)}" for k, v in value.items())
    if isinstance(value, str):
        if value in DETAIL_VALUES:
            return str(DETAIL_VALUES[value])
        if value in orders.STATUS_LABELS:
            return orders.status_label(value)
        if value in ("True", "False"):
            return yes_no(value == "True")
        if len(value) >= 19 and value[4] == "-" and value[10] == "T":
            try:
                return format_datetime(datetime.fromisoformat(value), "short")
            except ValueError:
                return value
    return str(value)


def detail_key(key: str) -> str:
    label = DETAIL_KEYS.get(key)
    return key if label is None else str(label)


def audit_details(details: dict | None) -> list[tuple[str, str]]:
    """An event's details as (name, value) pairs in the reader's language."""
    return [(detail_key(key), detail_value(value)) for key, value in (details or {}).items()]


def import_state(status: str) -> str:
    label = IMPORT_STATES.get(status)
    return status if label is None else str(label)


def order_source(source: str) -> str:
    label = ORDER_SOURCES.get(source)
    return source if label is None else str(label)


def order_event(action: str) -> str:
    """An order history event (``created``, ``label``, ``pack``, ...) by its name."""
    return _("received") if action == "created" else orders.action_label(action)


FILTERS = {
    "audit_action": audit_action,
    "audit_target": audit_target,
    "audit_details": audit_details,
    "yes_no": yes_no,
    "import_state": import_state,
    "order_source": order_source,
    "order_event": order_event,
}

# Codes that must never reach a page in another language (tests/functional/test_i18n.py looks for them).
INTERNAL_CODES = (
    *AUDIT_ACTIONS,
    *(key for key in DETAIL_KEYS if "_" in key),
    *(state for state in IMPORT_STATES if state != "preview"),
    "True",
    "False",
)
