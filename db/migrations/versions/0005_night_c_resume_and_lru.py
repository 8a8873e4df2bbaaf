"""resumable experiments and least-recently-used cache bounds

Revision ID: 0003_night_c
Revises: (previous)
"""
from alembic import op
import sqlalchemy as sa


revision = '0003_night_c'  # the contract's 0003_<NAME>; alembic refuses '-' in an id
down_revision = '0003_night_b'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('experiments', schema=None) as batch_op:
        batch_op.add_column(sa.Column('resume_step', sa.String(length=30), nullable=True))
    for table in ('generation_cache', 'verdict_cache'):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column('last_used_at', sa.DateTime(timezone=True), nullable=True))
            batch_op.create_index(batch_op.f(f'ix_{table}_last_used_at'), ['last_used_at'], unique=False)


def downgrade() -> None:
    for table in ('verdict_cache', 'generation_cache'):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_index(batch_op.f(f'ix_{table}_last_used_at'))
            batch_op.drop_column('last_used_at')
    with op.batch_alter_table('experiments', schema=None) as batch_op:
        batch_op.drop_column('resume_step')
