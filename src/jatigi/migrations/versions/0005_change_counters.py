"""change counters: cached figures know of changes made by any process

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-29 05:00:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('change_counters',
    sa.Column('domain', sa.String(length=30), nullable=False),
    sa.Column('generation', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('domain', name=op.f('pk_change_counters'))
    )
    # One row per domain from the start: the first changes then only update, never race to insert.
    counters = sa.table('change_counters', sa.column('domain', sa.String), sa.column('generation', sa.BigInteger))
    op.bulk_insert(counters, [{'domain': d, 'generation': 0} for d in ('dedup', 'places', 'registry')])


def downgrade() -> None:
    op.drop_table('change_counters')
