"""evaluations.confinement: the sandbox an evaluation's pipeline ran under (bwrap | sandbox-exec | none)

Revision ID: 0003_apple
Revises: 0002
"""
from alembic import op
import sqlalchemy as sa


revision = '0003_apple'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('evaluations', schema=None) as batch_op:
        batch_op.add_column(sa.Column('confinement', sa.String(length=20), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('evaluations', schema=None) as batch_op:
        batch_op.drop_column('confinement')
