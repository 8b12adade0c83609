"""print batches (波次), the seller staff's print switch, the order list's sort indexes

Revision ID: b7d1e4a9c2f3
Revises: 9604f5ec3e79
Create Date: 2026-12-06 06:40:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'b7d1e4a9c2f3'
down_revision = '9604f5ec3e79'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('print_batch',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('shop_id', sa.Integer(), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('order_count', sa.Integer(), nullable=False),
    sa.Column('made_from', sa.String(length=300), nullable=False),
    sa.ForeignKeyConstraint(['created_by_id'], ['user.id'], name=op.f('fk_print_batch_created_by_id_user')),
    sa.ForeignKeyConstraint(['shop_id'], ['shop.id'], name=op.f('fk_print_batch_shop_id_shop')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_print_batch'))
    )
    with op.batch_alter_table('print_batch', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_print_batch_shop_id'), ['shop_id'], unique=False)

    op.create_table('print_batch_order',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('batch_id', sa.Integer(), nullable=False),
    sa.Column('order_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('open_order_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['batch_id'], ['print_batch.id'], name=op.f('fk_print_batch_order_batch_id_print_batch')),
    sa.ForeignKeyConstraint(['order_id'], ['order.id'], name=op.f('fk_print_batch_order_order_id_order')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_print_batch_order')),
    sa.UniqueConstraint('batch_id', 'order_id', name=op.f('uq_print_batch_order_batch_id_order_id')),
    sa.UniqueConstraint('open_order_id', name=op.f('uq_print_batch_order_open_order_id'))
    )
    with op.batch_alter_table('print_batch_order', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_print_batch_order_batch_id'), ['batch_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_print_batch_order_order_id'), ['order_id'], unique=False)

    with op.batch_alter_table('shop_staff', schema=None) as batch_op:
        batch_op.add_column(sa.Column('print_labels', sa.Boolean(), server_default=sa.false(), nullable=False))

    with op.batch_alter_table('order', schema=None) as batch_op:
        batch_op.create_index('ix_order_shop_id_ship_by_id', ['shop_id', 'ship_by', 'id'], unique=False)
        batch_op.create_index(
            'ix_order_shop_id_province_code_city_code', ['shop_id', 'province_code', 'city_code', 'id'], unique=False
        )

    with op.batch_alter_table('order_item', schema=None) as batch_op:
        batch_op.create_index('ix_order_item_sku_order_id', ['sku', 'order_id'], unique=False)


def downgrade():
    with op.batch_alter_table('order_item', schema=None) as batch_op:
        batch_op.drop_index('ix_order_item_sku_order_id')

    with op.batch_alter_table('order', schema=None) as batch_op:
        batch_op.drop_index('ix_order_shop_id_province_code_city_code')
        batch_op.drop_index('ix_order_shop_id_ship_by_id')

    with op.batch_alter_table('shop_staff', schema=None) as batch_op:
        batch_op.drop_column('print_labels')

    with op.batch_alter_table('print_batch_order', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_print_batch_order_order_id'))
        batch_op.drop_index(batch_op.f('ix_print_batch_order_batch_id'))

    op.drop_table('print_batch_order')
    with op.batch_alter_table('print_batch', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_print_batch_shop_id'))

    op.drop_table('print_batch')
