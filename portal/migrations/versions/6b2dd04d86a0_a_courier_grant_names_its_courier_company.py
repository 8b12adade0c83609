"""a courier grant names its courier company

A courier's sub-account names the courier company the person works for, so they only ever spend that
company's numbers (issue 14); an invitation names it too, for the grant it turns into. Nullable: grants made
before stay working and get their company from the next revision (05851a788d90) or from the seller.

Revision ID: 6b2dd04d86a0
Revises: f25969290950
Create Date: 2026-12-06 05:10:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '6b2dd04d86a0'
down_revision = 'f25969290950'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('courier_grant', schema=None) as batch_op:
        batch_op.add_column(sa.Column('company_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f('fk_courier_grant_company_id_courier_company'), 'courier_company', ['company_id'], ['id']
        )

    with op.batch_alter_table('invitation', schema=None) as batch_op:
        batch_op.add_column(sa.Column('company_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f('fk_invitation_company_id_courier_company'), 'courier_company', ['company_id'], ['id']
        )


def downgrade():
    with op.batch_alter_table('invitation', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_invitation_company_id_courier_company'), type_='foreignkey')
        batch_op.drop_column('company_id')

    with op.batch_alter_table('courier_grant', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_courier_grant_company_id_courier_company'), type_='foreignkey')
        batch_op.drop_column('company_id')
