"""default courier companies: the registry starts with the main Chinese couriers

Data migration, so that a new installation has the registry after `flask db upgrade` alone.
The rows are a copy of services/waybills.DEFAULT_COMPANIES as of this revision; existing codes
are left as the operator set them.

Revision ID: a1c0d2e3f4b5
Revises: 797ab2f6b4fc
Create Date: 2026-11-26 05:20:00

"""
from datetime import datetime, timezone

from alembic import op
import sqlalchemy as sa


revision = 'a1c0d2e3f4b5'
down_revision = '797ab2f6b4fc'
branch_labels = None
depends_on = None

COMPANIES = [
    ("SF", "SF Express", "顺丰速运", r"^(?:SF[0-9A-Z]\d{12}|\d{12})$", "", "SF1385628716739"),
    ("ZTO", "ZTO Express", "中通快递", r"^(?:7[3-68]\d{12}|\d{12})$", "", "73610555582883"),
    ("YTO", "YTO Express", "圆通速递", r"^(?:YT\d{13}|[6-9]\d{17})$", "", "YT8962646785389"),
    ("STO", "STO Express", "申通快递", r"^(?:(?:77|43)\d{12,15}|[2-9]68\d{9,10})$", "", "773277027280336"),
    ("YUNDA", "Yunda Express", "韵达快递", r"^(?:[34]\d{14}|5\d{12})$", "", "463431409940372"),
    ("JD", "JD Logistics", "京东物流", r"^JD[0-9A-Z]{2}\d{11}$", "", "JDX024407261700"),
    ("JT", "J&T Express", "极兔速递", r"^JT\d{13}$", "", "JT5261988016578"),
    ("EMS", "EMS / China Post", "中国邮政 EMS", r"^(?:[A-Z]{2}\d{9}[A-Z]{2}|\d{13})$", "s10", "EA473124829CN"),
    ("CAINIAO", "Cainiao", "菜鸟", r"^621\d{12}$", "", "621234567890123"),
    ("DEPPON", "Deppon Express", "德邦快递", r"^(?:DPK\d{12}|\d{8,10})$", "", "DPK202252612836"),
]


def upgrade():
    company = sa.table(
        'courier_company',
        sa.column('code', sa.String), sa.column('name', sa.String), sa.column('name_zh', sa.String),
        sa.column('pattern', sa.String), sa.column('check', sa.String), sa.column('example', sa.String),
        sa.column('active', sa.Boolean), sa.column('created_at', sa.DateTime(timezone=True)),
    )
    existing = {row[0] for row in op.get_bind().execute(sa.text('SELECT code FROM courier_company'))}
    now = datetime.now(timezone.utc)
    rows = [
        dict(code=code, name=name, name_zh=name_zh, pattern=pattern, check=check, example=example,
             active=True, created_at=now)
        for code, name, name_zh, pattern, check, example in COMPANIES if code not in existing
    ]
    if rows:
        op.bulk_insert(company, rows)


def downgrade():
    codes = [code for code, *_ in COMPANIES]
    op.get_bind().execute(
        sa.text('DELETE FROM courier_company WHERE code IN :codes').bindparams(sa.bindparam('codes', expanding=True)),
        {'codes': codes},
    )
