"""experiments: files outside the commit (never scored) and binaries recorded by the guard

Revision ID: 0003_leaks
Revises: (previous)
"""
from alembic import op
import sqlalchemy as sa


revision = '0003_leaks'
down_revision = '0003_night_c'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('experiments', schema=None) as batch_op:
        batch_op.add_column(sa.Column('outside_commit', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('workspace_binaries', sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('experiments', schema=None) as batch_op:
        batch_op.drop_column('workspace_binaries')
        batch_op.drop_column('outside_commit')
