"""the plan in force (published, its version) and a history of reference changes

Revision ID: 0005
Revises: 0004
Create Date: 2027-01-20
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


revision: str = '0005'
down_revision: Union[str, None] = '0004'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table('publications',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('plan_id', sa.Integer(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('published_by', sa.Integer(), nullable=False),
    sa.Column('published_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('note', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['plan_id'], ['plans.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['published_by'], ['principals.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('publications', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_publications_plan_id'), ['plan_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_publications_version'), ['version'], unique=True)
    op.create_table('change_history',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('key', sa.String(length=100), nullable=True),
    sa.Column('action', sa.String(length=20), nullable=False),
    sa.Column('before', sa.JSON(), nullable=True),
    sa.Column('after', sa.JSON(), nullable=True),
    sa.Column('changed_by', sa.Integer(), nullable=False),
    sa.Column('changed_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['changed_by'], ['principals.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('change_history', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_change_history_kind'), ['kind'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('change_history', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_change_history_kind'))
    op.drop_table('change_history')
    with op.batch_alter_table('publications', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_publications_version'))
        batch_op.drop_index(batch_op.f('ix_publications_plan_id'))
    op.drop_table('publications')
