"""a training request answered by an adapter: the adapter's sha256 and the experiment that evaluated it
(the quality is that experiment's, read from it: one source of truth)

Revision ID: train_1
Revises: limits_1
"""
from alembic import op
import sqlalchemy as sa


revision = 'train_1'
down_revision = 'limits_1'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('training_requests', schema=None) as batch_op:
        batch_op.add_column(sa.Column('adapter_sha256', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('answer_experiment', sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('training_requests', schema=None) as batch_op:
        batch_op.drop_column('answer_experiment')
        batch_op.drop_column('adapter_sha256')
