"""several workers on one record: each experiment's worker and its claim's lease; the workers table
(name, host, pid, heartbeat)

Revision ID: workers_1
Revises: steer_1
"""
from alembic import op
import sqlalchemy as sa


revision = 'workers_1'
down_revision = 'steer_1'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('experiments', schema=None) as batch_op:
        batch_op.add_column(sa.Column('worker', sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column('lease_until', sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index(batch_op.f('ix_experiments_worker'), ['worker'], unique=False)
    op.create_table(
        'workers',
        sa.Column('name', sa.String(length=100), nullable=False),
        sa.Column('host', sa.String(length=200), nullable=False),
        sa.Column('pid', sa.Integer(), nullable=False),
        sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('heartbeat_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('stopped_at', sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint('name'),
    )


def downgrade() -> None:
    op.drop_table('workers')
    with op.batch_alter_table('experiments', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_experiments_worker'))
        batch_op.drop_column('lease_until')
        batch_op.drop_column('worker')
