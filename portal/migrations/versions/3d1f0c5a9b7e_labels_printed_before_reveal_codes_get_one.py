"""labels printed before reveal codes get one

Data, then the constraint it allows: every printed label without a code gets one (128 random bits, as
models.printing.new_reveal_token makes them, and its sha256), so a label printed again from an old job carries
a QR code too; then the code is required and its hash unique. The codes are made here, not imported from the
models, so this revision keeps working when the models change.

Revision ID: 3d1f0c5a9b7e
Revises: 8474f7b94f09
Create Date: 2026-12-06 04:02:00.000000

"""
import hashlib
import secrets

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '3d1f0c5a9b7e'
down_revision = '8474f7b94f09'
branch_labels = None
depends_on = None

BATCH = 1000


def upgrade():
    connection = op.get_bind()
    labels = sa.table(
        'printed_label', sa.column('id', sa.Integer), sa.column('reveal_token', sa.String), sa.column('reveal_hash', sa.String)
    )
    ids = list(connection.scalars(sa.select(labels.c.id).where(labels.c.reveal_token.is_(None)).order_by(labels.c.id)))
    update = (
        labels.update()
        .where(labels.c.id == sa.bindparam('label_id'))
        .values(reveal_token=sa.bindparam('token'), reveal_hash=sa.bindparam('token_hash'))
    )
    for start in range(0, len(ids), BATCH):
        rows = []
        for label_id in ids[start:start + BATCH]:
            token = secrets.token_urlsafe(16)
            rows.append({'label_id': label_id, 'token': token, 'token_hash': hashlib.sha256(token.encode()).hexdigest()})
        connection.execute(update, rows)

    with op.batch_alter_table('printed_label', schema=None) as batch_op:
        batch_op.alter_column('reveal_token', existing_type=sa.String(length=32), nullable=False)
        batch_op.alter_column('reveal_hash', existing_type=sa.String(length=64), nullable=False)
        batch_op.create_index(batch_op.f('ix_printed_label_reveal_hash'), ['reveal_hash'], unique=True)


def downgrade():
    # The codes stay (the previous revision drops the columns); only the constraints go.
    with op.batch_alter_table('printed_label', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_printed_label_reveal_hash'))
        batch_op.alter_column('reveal_hash', existing_type=sa.String(length=64), nullable=True)
        batch_op.alter_column('reveal_token', existing_type=sa.String(length=32), nullable=True)
