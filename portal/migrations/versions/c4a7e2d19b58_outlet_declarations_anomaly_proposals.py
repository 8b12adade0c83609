"""couriers declare their outlet's status; detection proposes anomaly regions; an order index it reads alone

Revision ID: c4a7e2d19b58
Revises: b7e41c2d9a10
Create Date: 2026-12-06 06:40:00.000000

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "c4a7e2d19b58"
down_revision = "b7e41c2d9a10"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "outlet_declaration",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("company_id", sa.Integer(), nullable=True),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("code", sa.String(length=6), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("valid_from", sa.DateTime(timezone=True), nullable=False),
        sa.Column("valid_to", sa.DateTime(timezone=True), nullable=True),
        sa.Column("reason", sa.String(length=16), nullable=False),
        sa.Column("note", sa.String(length=500), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["company_id"], ["courier_company.id"], name=op.f("fk_outlet_declaration_company_id_courier_company")
        ),
        sa.ForeignKeyConstraint(["user_id"], ["user.id"], name=op.f("fk_outlet_declaration_user_id_user")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outlet_declaration")),
    )
    with op.batch_alter_table("outlet_declaration", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_outlet_declaration_code"), ["code"], unique=False)
        batch_op.create_index(batch_op.f("ix_outlet_declaration_user_id"), ["user_id"], unique=False)

    op.create_table(
        "anomaly_proposal",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=6), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("applies_to", sa.String(length=16), nullable=False),
        sa.Column("from_declarations", sa.Boolean(), nullable=False),
        sa.Column("from_statistics", sa.Boolean(), nullable=False),
        sa.Column("level", sa.String(length=16), nullable=False),
        sa.Column("valid_from", sa.DateTime(timezone=True), nullable=False),
        sa.Column("valid_to", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("first_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("overdue_orders", sa.Integer(), nullable=False),
        sa.Column("overdue_shops", sa.Integer(), nullable=False),
        sa.Column("open_orders", sa.Integer(), nullable=False),
        sa.Column("shops", sa.Integer(), nullable=False),
        sa.Column("evidence", sa.JSON(), nullable=False),
        sa.Column("region_id", sa.Integer(), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decided_by_id", sa.Integer(), nullable=True),
        sa.Column("dismiss_reason", sa.String(length=500), nullable=False),
        sa.ForeignKeyConstraint(["decided_by_id"], ["user.id"], name=op.f("fk_anomaly_proposal_decided_by_id_user")),
        sa.ForeignKeyConstraint(
            ["region_id"], ["anomaly_region.id"], name=op.f("fk_anomaly_proposal_region_id_anomaly_region")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_anomaly_proposal")),
    )
    with op.batch_alter_table("anomaly_proposal", schema=None) as batch_op:
        batch_op.create_index(
            "ix_anomaly_proposal_code_applies_to_status", ["code", "applies_to", "status"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_anomaly_proposal_status"), ["status"], unique=False)
        batch_op.create_index(
            "uq_anomaly_proposal_open",
            ["code", "applies_to"],
            unique=True,
            sqlite_where=sa.text("status = 'open'"),
            postgresql_where=sa.text("status = 'open'"),
        )

    with op.batch_alter_table("order", schema=None) as batch_op:
        batch_op.create_index("ix_order_ship_by_status", ["ship_by", "status", "shop_id", "shipped_at"], unique=False)


def downgrade():
    with op.batch_alter_table("order", schema=None) as batch_op:
        batch_op.drop_index("ix_order_ship_by_status")

    with op.batch_alter_table("anomaly_proposal", schema=None) as batch_op:
        batch_op.drop_index("uq_anomaly_proposal_open")
        batch_op.drop_index(batch_op.f("ix_anomaly_proposal_status"))
        batch_op.drop_index("ix_anomaly_proposal_code_applies_to_status")

    op.drop_table("anomaly_proposal")
    with op.batch_alter_table("outlet_declaration", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_outlet_declaration_user_id"))
        batch_op.drop_index(batch_op.f("ix_outlet_declaration_code"))

    op.drop_table("outlet_declaration")
