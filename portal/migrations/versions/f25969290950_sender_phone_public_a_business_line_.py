"""sender phone public: a business line prints in full on privacy labels

Revision ID: f25969290950
Revises: 17a32f6a07a8
Create Date: 2026-12-06 03:39:46.997309

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'f25969290950'
down_revision = '17a32f6a07a8'
branch_labels = None
depends_on = None


def upgrade():
    # Existing shops keep masking their sender phone until the seller says it is a business line.
    # A plain ADD COLUMN: batch mode would rebuild the shop table on SQLite, which the rows pointing at it refuse.
    op.add_column('shop', sa.Column('sender_phone_public', sa.Boolean(), server_default=sa.false(), nullable=False))


def downgrade():
    with op.batch_alter_table('shop', schema=None) as batch_op:
        batch_op.drop_column('sender_phone_public')
