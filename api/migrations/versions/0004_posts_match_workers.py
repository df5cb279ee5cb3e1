"""match and move: posts (coordinators) and registered workers (agencies)

Revision ID: 0004
Revises: 0003
Create Date: 2027-01-10
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


revision: str = '0004'
down_revision: Union[str, None] = '0003'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table('posts',
    sa.Column('id', sa.String(length=100), nullable=False),
    sa.Column('site', sa.String(length=100), nullable=False),
    sa.Column('firm', sa.String(length=200), nullable=False),
    sa.Column('trade', sa.String(length=100), nullable=False),
    sa.Column('min_level', sa.Integer(), nullable=False),
    sa.Column('openings', sa.Integer(), nullable=False),
    sa.Column('monthly_wage', sa.Double(), nullable=False),
    sa.Column('start_by', sa.DateTime(timezone=True), nullable=False),
    sa.Column('dorm', sa.Boolean(), nullable=False),
    sa.Column('extra', sa.JSON(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('posts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_posts_site'), ['site'], unique=False)
    op.create_table('match_workers',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('agency_id', sa.Integer(), nullable=False),
    sa.Column('ref', sa.String(length=100), nullable=True),
    sa.Column('resolved_county', sa.String(length=6), nullable=True),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('id_number_enc', sa.Text(), nullable=True),
    sa.Column('id_number_masked', sa.String(length=40), nullable=True),
    sa.Column('phone_enc', sa.Text(), nullable=True),
    sa.Column('phone_masked', sa.String(length=40), nullable=True),
    sa.Column('trades', sa.JSON(), nullable=False),
    sa.Column('choices', sa.JSON(), nullable=False),
    sa.Column('min_monthly_wage', sa.Double(), nullable=True),
    sa.Column('earliest_departure', sa.DateTime(timezone=True), nullable=False),
    sa.Column('screening', sa.String(length=10), nullable=False),
    sa.Column('screening_valid_until', sa.DateTime(timezone=True), nullable=True),
    sa.Column('gender', sa.String(length=10), nullable=True),
    sa.Column('group_name', sa.String(length=100), nullable=True),
    sa.Column('signed', sa.String(length=100), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('county', sa.String(length=12), nullable=True),
    sa.Column('address', sa.Text(), nullable=True),
    sa.Column('lat', sa.Float(), nullable=True),
    sa.Column('lon', sa.Float(), nullable=True),
    sa.Column('place_name', sa.String(length=200), nullable=True),
    sa.ForeignKeyConstraint(['agency_id'], ['principals.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('agency_id', 'ref', name='uq_match_workers_agency_ref')
    )
    with op.batch_alter_table('match_workers', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_match_workers_agency_id'), ['agency_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('match_workers', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_match_workers_agency_id'))
    op.drop_table('match_workers')
    with op.batch_alter_table('posts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_posts_site'))
    op.drop_table('posts')
