"""human_labels: a person's verdicts (and optional dimension scores) on stored candidates, from the
dashboard's labelling view, with who and when

Revision ID: judges_1
Revises: record_1
"""
from alembic import op
import sqlalchemy as sa


revision = 'judges_1'
down_revision = 'record_1'  # chained after main's head when main was merged in
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'human_labels',
        sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
        sa.Column('case_id', sa.String(length=40), nullable=False),
        sa.Column('candidate', sa.JSON(), nullable=False),
        sa.Column('candidate_hash', sa.String(length=64), nullable=False),
        sa.Column('source', sa.String(length=10), nullable=False),
        sa.Column('shown_first', sa.String(length=10), nullable=False),
        sa.Column('pick', sa.String(length=4), nullable=False),
        sa.Column('verdict', sa.String(length=10), nullable=False),
        sa.Column('dims', sa.JSON(), nullable=True),
        sa.Column('author', sa.String(length=200), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id'),
    )
    with op.batch_alter_table('human_labels', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_human_labels_case_id'), ['case_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_human_labels_candidate_hash'), ['candidate_hash'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('human_labels', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_human_labels_candidate_hash'))
        batch_op.drop_index(batch_op.f('ix_human_labels_case_id'))
    op.drop_table('human_labels')
