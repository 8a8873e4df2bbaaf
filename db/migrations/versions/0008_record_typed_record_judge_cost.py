"""the typed experiment record: the agent's claimed lever beside the derived one; the judge's tokens
and dollars per evaluation and per experiment

Revision ID: record_1
Revises: 0003_judges
"""
from alembic import op
import sqlalchemy as sa


revision = "record_1"
down_revision = "0003_judges"
branch_labels = None
depends_on = None

USAGE = ("judge_input_tokens", "judge_output_tokens", "judge_cache_read_tokens", "judge_cache_write_tokens")


def upgrade() -> None:
    with op.batch_alter_table("experiments", schema=None) as batch_op:
        batch_op.add_column(sa.Column("lever_claimed", sa.String(length=20), nullable=True))
        for name in USAGE:
            batch_op.add_column(sa.Column(name, sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("judge_cost_usd", sa.Float(), nullable=True))
    with op.batch_alter_table("evaluations", schema=None) as batch_op:
        for name in USAGE:
            batch_op.add_column(sa.Column(name, sa.Integer(), nullable=False, server_default="0"))
        batch_op.add_column(sa.Column("judge_cost_usd", sa.Float(), nullable=False, server_default="0"))


def downgrade() -> None:
    with op.batch_alter_table("evaluations", schema=None) as batch_op:
        for name in (*USAGE, "judge_cost_usd"):
            batch_op.drop_column(name)
    with op.batch_alter_table("experiments", schema=None) as batch_op:
        for name in ("lever_claimed", *USAGE, "judge_cost_usd"):
            batch_op.drop_column(name)
