"""reveal codes on printed labels; courier company staff

A label's QR code opens its hidden recipient details (services/reveal.py): each printed label gets a random
code, kept to print the label again and looked up by its sha256. Staff of a courier company, confirmed by the
operator, read the labels that bear that company's numbers. The columns arrive nullable: 3d1f0c5a9b7e gives
the labels already printed their codes, then makes them required and unique.

Revision ID: 8474f7b94f09
Revises: 05851a788d90
Create Date: 2026-12-06 03:48:00.071395

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '8474f7b94f09'
down_revision = '05851a788d90'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('company_membership',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('company_id', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('note', sa.String(length=200), nullable=False),
    sa.Column('requested_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('confirmed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('confirmed_by_id', sa.Integer(), nullable=True),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('revoked_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['company_id'], ['courier_company.id'], name=op.f('fk_company_membership_company_id_courier_company')),
    sa.ForeignKeyConstraint(['confirmed_by_id'], ['user.id'], name=op.f('fk_company_membership_confirmed_by_id_user')),
    sa.ForeignKeyConstraint(['revoked_by_id'], ['user.id'], name=op.f('fk_company_membership_revoked_by_id_user')),
    sa.ForeignKeyConstraint(['user_id'], ['user.id'], name=op.f('fk_company_membership_user_id_user')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_company_membership'))
    )
    with op.batch_alter_table('company_membership', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_company_membership_company_id'), ['company_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_company_membership_user_id'), ['user_id'], unique=False)
        # One live (requested or confirmed) membership per person and company; ended ones stay as history.
        batch_op.create_index('uq_company_membership_live', ['user_id', 'company_id'], unique=True, sqlite_where=sa.text("status != 'revoked'"), postgresql_where=sa.text("status != 'revoked'"))

    with op.batch_alter_table('printed_label', schema=None) as batch_op:
        batch_op.add_column(sa.Column('reveal_token', sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column('reveal_hash', sa.String(length=64), nullable=True))


def downgrade():
    with op.batch_alter_table('printed_label', schema=None) as batch_op:
        batch_op.drop_column('reveal_hash')
        batch_op.drop_column('reveal_token')

    with op.batch_alter_table('company_membership', schema=None) as batch_op:
        batch_op.drop_index('uq_company_membership_live', sqlite_where=sa.text("status != 'revoked'"), postgresql_where=sa.text("status != 'revoked'"))
        batch_op.drop_index(batch_op.f('ix_company_membership_user_id'))
        batch_op.drop_index(batch_op.f('ix_company_membership_company_id'))

    op.drop_table('company_membership')
