"""grading lanes: a submission queued by a regrade, and an index on the status

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-04 03:50:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('submissions', schema=None) as batch_op:
        # '0' rather than sa.false(): SQLite adds a column with a literal default in place, where an
        # expression would copy the table (which the rows of grade_results, by foreign key, forbid).
        batch_op.add_column(sa.Column('regrade', sa.Boolean(), server_default='0', nullable=False))
        batch_op.create_index(batch_op.f('ix_submissions_status'), ['status'], unique=False)


def downgrade():
    with op.batch_alter_table('submissions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_submissions_status'))
        batch_op.drop_column('regrade')
