"""steering_notes and experiment_feedback: the supervisor's steering notes (text, lever focus, expiry,
the experiments shown each note) and comments on experiments, with who and when

Revision ID: steer_1
Revises: judges_1
"""
from alembic import op
import sqlalchemy as sa


revision = 'steer_1'
down_revision = 'judges_1'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'steering_notes',
        sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
        sa.Column('text', sa.Text(), nullable=False),
        sa.Column('focus', sa.JSON(), nullable=False),
        sa.Column('for_experiments', sa.Integer(), nullable=True),
        sa.Column('shown_to', sa.JSON(), nullable=False),
        sa.Column('author', sa.String(length=200), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('dropped_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('dropped_by', sa.String(length=200), nullable=True),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_table(
        'experiment_feedback',
        sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
        sa.Column('experiment_number', sa.Integer(), nullable=False),
        sa.Column('text', sa.Text(), nullable=False),
        sa.Column('author', sa.String(length=200), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['experiment_number'], ['experiments.number']),
        sa.PrimaryKeyConstraint('id'),
    )
    with op.batch_alter_table('experiment_feedback', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_experiment_feedback_experiment_number'), ['experiment_number'],
                              unique=False)


def downgrade() -> None:
    with op.batch_alter_table('experiment_feedback', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_experiment_feedback_experiment_number'))
    op.drop_table('experiment_feedback')
    op.drop_table('steering_notes')
