"""audit trail of one record read newest first from its index (PostgreSQL too)

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-29 06:15:00
"""
from __future__ import annotations

from alembic import op

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # With the id in the index, "the last 20 events of this household" reads 20 index entries
    # instead of sorting every event of a household read a hundred thousand times.
    op.drop_index('ix_audit_entity', table_name='audit_events')
    op.create_index('ix_audit_entity', 'audit_events', ['entity_type', 'entity_id', 'id'])


def downgrade() -> None:
    op.drop_index('ix_audit_entity', table_name='audit_events')
    op.create_index('ix_audit_entity', 'audit_events', ['entity_type', 'entity_id'])
