"""shared limits across workers: the judge's concurrency slots, the night's budget ledger and its holds

Revision ID: limits_1
Revises: workers_1
"""
from alembic import op
import sqlalchemy as sa


revision = 'limits_1'
down_revision = 'workers_1'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'judge_slots',
        sa.Column('slot', sa.Integer(), autoincrement=False, nullable=False),
        sa.Column('holder', sa.String(length=100), nullable=True),
        sa.Column('held_until', sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint('slot'),
    )
    op.create_table(
        'budget_ledger',
        sa.Column('name', sa.String(length=100), nullable=False),
        sa.Column('limit_usd', sa.Float(), nullable=False),
        sa.Column('spent_usd', sa.Float(), nullable=False),
        sa.Column('largest_usd', sa.Float(), nullable=False),
        sa.Column('opened_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('touched_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('name'),
    )
    op.create_table(
        'budget_holds',
        sa.Column('worker', sa.String(length=100), nullable=False),
        sa.Column('ledger', sa.String(length=100), nullable=False),
        sa.Column('usd', sa.Float(), nullable=False),
        sa.Column('held_until', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('worker'),
    )


def downgrade() -> None:
    op.drop_table('budget_holds')
    op.drop_table('budget_ledger')
    op.drop_table('judge_slots')
