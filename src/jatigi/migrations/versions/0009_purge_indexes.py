"""indexes that let a household be purged without reading every score

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-29 09:40:00
"""
from __future__ import annotations

from alembic import op

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Deleting a household cascades to its scores: without this index, every deletion read every
    # run's scores (1.4 s a household with 13 million scores).
    op.create_index('ix_targeting_scores_household_id', 'targeting_scores', ['household_id'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_targeting_scores_household_id', table_name='targeting_scores')
