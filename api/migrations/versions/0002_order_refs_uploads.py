"""order refs unique per agency, resolved origins, uploaded files

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-02
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


revision: str = '0002'
down_revision: Union[str, None] = '0001'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    conn = op.get_bind()
    orders = sa.table('orders', sa.column('id', sa.Integer), sa.column('agency_id', sa.Integer),
                      sa.column('ref', sa.String))
    # refs stored twice before they had to be unique: keep the first, suffix the others with their id
    seen: set[tuple[int, str]] = set()
    for oid, agency, ref in conn.execute(sa.select(orders.c.id, orders.c.agency_id, orders.c.ref)
                                         .where(orders.c.ref.is_not(None)).order_by(orders.c.id)):
        if (agency, ref) in seen:
            conn.execute(orders.update().where(orders.c.id == oid).values(ref=f"{ref}#{oid}"))
        else:
            seen.add((agency, ref))
    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.add_column(sa.Column('resolved_county', sa.String(length=6), nullable=True))
        batch_op.create_unique_constraint('uq_orders_agency_ref', ['agency_id', 'ref'])
    op.create_table('order_uploads',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('agency_id', sa.Integer(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('filename', sa.String(length=300), nullable=False),
    sa.Column('orders', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['agency_id'], ['principals.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('agency_id', 'sha256', name='uq_order_uploads_agency_sha')
    )


def downgrade() -> None:
    op.drop_table('order_uploads')
    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.drop_constraint('uq_orders_agency_ref', type_='unique')
        batch_op.drop_column('resolved_county')
