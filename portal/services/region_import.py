"""Anomaly regions from a sheet (CSV in UTF-8 or GBK, or XLSX): every row checked, then all published or none."""

from dataclasses import dataclass, field
from pathlib import Path

from flask_babel import gettext as _

from portal.models import AnomalyRegion, User
from portal.services import audit, exemptions, orders, spreadsheets
from portal.services.errors import InvalidDataError

MAX_REGION_ROWS = 5000

REGION_FILE_FIELD = "regions_file"
REGION_COLUMNS = (
    spreadsheets.Column("code", "区划代码", ("code", "division code", "region code", "adcode")),
    spreadsheets.Column("applies_to", "适用于", ("applies to", "scope")),
    spreadsheets.Column("level", "级别", ("level",)),
    spreadsheets.Column("valid_from", "开始时间", ("valid from", "from", "start")),
    spreadsheets.Column("valid_to", "结束时间", ("valid to", "to", "end")),
    spreadsheets.Column("source", "来源", ("source",)),
    spreadsheets.Column("note", "备注", ("note", "notes")),
)
REGION_REQUIRED = (("code",), ("applies_to",), ("level",), ("valid_from",), ("valid_to",), ("source",))
# Chinese values a sheet may use for the choice columns.
_CHOICE_ALIASES = {
    "目的地": "destination",
    "收件地": "destination",
    "发货地": "origin",
    "始发地": "origin",
    "两者": "both",
    "全部": "both",
    "自动": "auto",
    "一键报备": "one_click",
    "one-click": "one_click",
    "卫健委通知": "health_notice",
    "疫情防控通知": "health_notice",
    "网点状态": "outlet_status",
    "揽派数据": "statistics",
    "其他": "other",
}


@dataclass
class RegionRowError:
    row: int
    column: str
    message: str


@dataclass
class RegionImport:
    rows: list[exemptions.RegionInput] = field(default_factory=list)
    errors: list[RegionRowError] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return bool(self.rows) and not self.errors


def read_regions(path: Path) -> RegionImport:
    """Check a region sheet (CSV in UTF-8 or GBK, or XLSX); nothing is written.

    :raise InvalidDataError: the file cannot be read as a sheet or a required column is missing.
    """
    result = RegionImport()
    with spreadsheets.open_rows(path, REGION_FILE_FIELD) as rows:
        header = spreadsheets.read_header(rows, REGION_COLUMNS, REGION_REQUIRED, REGION_FILE_FIELD)
        for number, cells in rows:
            if len(result.rows) + len(result.errors) >= MAX_REGION_ROWS:
                message = _("At most %(n)d regions per file.", n=MAX_REGION_ROWS)
                raise InvalidDataError(message, {REGION_FILE_FIELD: message})
            values = header.values(cells)
            data = {key: _CHOICE_ALIASES.get(str(value).strip(), value) for key, value in values.items()}
            data["code"] = orders.clean_text(data["code"])
            region_input, errors = exemptions.validate_region(data)
            for name, message in errors:
                result.errors.append(RegionRowError(number, header.heading.get(name, name), message))
            if region_input:
                result.rows.append(region_input)
        for number, position, message in rows.problems:
            result.errors.append(RegionRowError(number, header.heading_at(position), message))
    if not result.rows and not result.errors:
        message = _("The file holds no regions.")
        raise InvalidDataError(message, {REGION_FILE_FIELD: message})
    return result


def import_regions(path: Path, *, actor: User, file_name: str = "") -> list[AnomalyRegion]:
    """Publish every region of a sheet, or none. No commit.

    :raise InvalidDataError: the file cannot be read, or any row is invalid (nothing is published).
    """
    checked = read_regions(path)
    if not checked.ok:
        first = checked.errors[0]
        message = _(
            "Row %(row)d, column %(column)s: %(message)s Nothing was imported.",
            row=first.row,
            column=first.column,
            message=first.message,
        )
        raise InvalidDataError(message, {REGION_FILE_FIELD: message})
    published = []
    exempted = 0
    for region_input in checked.rows:
        region = exemptions.add_region(region_input, actor)
        exempted += exemptions.exempt_open_orders(region)
        published.append(region)
    audit.record("regions_imported", actor=actor, target=file_name[:120], regions=len(published), exempted=exempted)
    return published
