"""decisions on fresh draws, the holdout on every new best, model lines

Experiments gain the keep decision's rounds (`decision`), the holdout's verdict (`holdout_quality`,
`goodhart_gap`, `goodhart_drift`, `holdout_check`) and the runner's model line; evaluations gain the
experiment whose outputs a re-judging round judged (`subject_experiment`) and the model line.

Revision ID: 0003_night_b
Revises: (previous)
"""
from alembic import op
import sqlalchemy as sa


revision = "0003_night_b"
down_revision = "0003_apple"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("experiments", schema=None) as batch_op:
        batch_op.add_column(sa.Column("decision", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("holdout_quality", sa.Float(), nullable=True))
        batch_op.add_column(sa.Column("goodhart_gap", sa.Float(), nullable=True))
        batch_op.add_column(sa.Column("goodhart_drift", sa.Float(), nullable=True))
        batch_op.add_column(sa.Column("holdout_check", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("model_line", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("model_identity", sa.JSON(), nullable=True))
    with op.batch_alter_table("evaluations", schema=None) as batch_op:
        batch_op.add_column(sa.Column("subject_experiment", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("model_line", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("model_identity", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("evaluations", schema=None) as batch_op:
        for name in ("model_identity", "model_line", "subject_experiment"):
            batch_op.drop_column(name)
    with op.batch_alter_table("experiments", schema=None) as batch_op:
        for name in ("model_identity", "model_line", "holdout_check", "goodhart_drift", "goodhart_gap",
                     "holdout_quality", "decision"):
            batch_op.drop_column(name)
