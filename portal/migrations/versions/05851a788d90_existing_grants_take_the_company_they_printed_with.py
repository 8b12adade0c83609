"""existing grants take the courier company they printed with

Data only (the column came in 6b2dd04d86a0). Each grant that has no company yet takes the company of the
numbers its courier last printed in its shop: the most recent print job of that person with labels of that
shop, and the company of those labels' waybills (the company of the ranges they used). A grant that never
printed stays NULL: the seller chooses its company, and until then it cannot print.

Revision ID: 05851a788d90
Revises: 6b2dd04d86a0
Create Date: 2026-12-06 05:11:00.000000

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = '05851a788d90'
down_revision = '6b2dd04d86a0'
branch_labels = None
depends_on = None


def upgrade():
    op.execute(
        """
        UPDATE courier_grant SET company_id = (
            SELECT waybill.company_id
            FROM printed_label
            JOIN print_job ON print_job.id = printed_label.job_id
            JOIN waybill ON waybill.id = printed_label.waybill_id
            WHERE print_job.actor_id = courier_grant.user_id AND printed_label.shop_id = courier_grant.shop_id
            ORDER BY print_job.created_at DESC, print_job.id DESC, printed_label.id DESC
            LIMIT 1
        )
        WHERE company_id IS NULL
        """
    )


def downgrade():
    # The previous revision drops the column; what the seller chose since cannot be told from what was filled.
    pass
