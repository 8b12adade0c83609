"""shops may check the goods when packing: the desk asks for each item's SKU barcode (验货)

Revision ID: b7e41c2d9a10
Revises: b7d1e4a9c2f3
Create Date: 2026-12-06 06:35:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'b7e41c2d9a10'
down_revision = 'b7d1e4a9c2f3'
branch_labels = None
depends_on = None


def upgrade():
    # Existing shops keep the one-scan packing until the seller turns the check on.
    # A plain ADD COLUMN: batch mode would rebuild the shop table on SQLite, which the rows pointing at it refuse.
    op.add_column('shop', sa.Column('check_goods', sa.Boolean(), server_default=sa.false(), nullable=False))


def downgrade():
    with op.batch_alter_table('shop', schema=None) as batch_op:
        batch_op.drop_column('check_goods')
