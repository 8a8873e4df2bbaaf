"""evaluations.position_flip_rate: per evaluation, the share of judged cases whose two orders disagree
(LLM judges only; null for the symmetric proxies and for evaluations made before it was recorded)

Revision ID: 0003_judges
Revises: (previous)
"""
from alembic import op
import sqlalchemy as sa


revision = '0003_judges'
down_revision = '0003_leaks'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('evaluations', schema=None) as batch_op:
        batch_op.add_column(sa.Column('position_flip_rate', sa.Float(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('evaluations', schema=None) as batch_op:
        batch_op.drop_column('position_flip_rate')
