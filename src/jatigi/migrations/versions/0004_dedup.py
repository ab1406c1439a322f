"""dedup: linkage models, runs, candidate pairs of people and households, decisions, merges

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02 10:00:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None

# Roles that exist already keep the permissions they were given; the default roles that review
# duplicates get the new ones (a new database gets them from accounts.sync_roles).
NEW_PERMISSIONS = {"im_officer": ("dedup:run:start", "dedup:pair:review")}


def upgrade() -> None:
    op.create_table('dedup_identities',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_dedup_identities'))
    )
    op.create_table('dedup_models',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('engine', sa.String(length=10), nullable=False),
    sa.Column('document', sa.Text(), nullable=False),
    sa.Column('trained_at', sa.DateTime(), nullable=False),
    sa.Column('trained_by', sa.Integer(), nullable=True),
    sa.Column('trained_by_name', sa.String(length=120), nullable=False),
    sa.Column('training_size', sa.Integer(), nullable=False),
    sa.Column('labels', sa.Integer(), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['trained_by'], ['users.id'], name=op.f('fk_dedup_models_trained_by_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_dedup_models')),
    sa.UniqueConstraint('version', name=op.f('uq_dedup_models_version'))
    )
    op.create_table('dedup_runs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('model_id', sa.Integer(), nullable=True),
    sa.Column('engine', sa.String(length=10), nullable=False),
    sa.Column('review_threshold', sa.Float(), nullable=False),
    sa.Column('link_threshold', sa.Float(), nullable=False),
    sa.Column('batch_id', sa.Integer(), nullable=True),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('username', sa.String(length=120), nullable=False),
    sa.Column('started_at', sa.DateTime(), nullable=False),
    sa.Column('finished_at', sa.DateTime(), nullable=True),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('counts', sa.JSON(), nullable=True),
    sa.Column('error', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['batch_id'], ['import_batches.id'], name=op.f('fk_dedup_runs_batch_id_import_batches'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['model_id'], ['dedup_models.id'], name=op.f('fk_dedup_runs_model_id_dedup_models')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_dedup_runs_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_dedup_runs'))
    )
    with op.batch_alter_table('dedup_runs', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_dedup_runs_batch_id'), ['batch_id'], unique=False)

    op.create_table('dedup_household_pairs',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('household_a_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('household_b_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('reasons', sa.JSON(), nullable=False),
    sa.Column('people_pairs', sa.Integer(), nullable=False),
    sa.Column('max_probability', sa.Float(), nullable=False),
    sa.Column('run_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['household_a_id'], ['households.id'], name=op.f('fk_dedup_household_pairs_household_a_id_households'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['household_b_id'], ['households.id'], name=op.f('fk_dedup_household_pairs_household_b_id_households'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['run_id'], ['dedup_runs.id'], name=op.f('fk_dedup_household_pairs_run_id_dedup_runs'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_dedup_household_pairs')),
    sa.UniqueConstraint('household_a_id', 'household_b_id', name='uq_dedup_household_pairs')
    )
    with op.batch_alter_table('dedup_household_pairs', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_dedup_household_pairs_household_b_id'), ['household_b_id'], unique=False)

    op.create_table('dedup_pairs',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('person_a_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('person_b_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('household_a_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('household_b_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('run_id', sa.Integer(), nullable=True),
    sa.Column('last_run_id', sa.Integer(), nullable=True),
    sa.Column('match_probability', sa.Float(), nullable=False),
    sa.Column('match_weight', sa.Float(), nullable=False),
    sa.Column('band', sa.String(length=10), nullable=False),
    sa.Column('fields', sa.JSON(), nullable=True),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('decided_by', sa.Integer(), nullable=True),
    sa.Column('decided_at', sa.DateTime(), nullable=True),
    sa.Column('note', sa.String(length=500), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['decided_by'], ['users.id'], name=op.f('fk_dedup_pairs_decided_by_users')),
    sa.ForeignKeyConstraint(['household_a_id'], ['households.id'], name=op.f('fk_dedup_pairs_household_a_id_households'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['household_b_id'], ['households.id'], name=op.f('fk_dedup_pairs_household_b_id_households'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['last_run_id'], ['dedup_runs.id'], name=op.f('fk_dedup_pairs_last_run_id_dedup_runs'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['person_a_id'], ['people.id'], name=op.f('fk_dedup_pairs_person_a_id_people'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['person_b_id'], ['people.id'], name=op.f('fk_dedup_pairs_person_b_id_people'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['run_id'], ['dedup_runs.id'], name=op.f('fk_dedup_pairs_run_id_dedup_runs'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_dedup_pairs')),
    sa.UniqueConstraint('person_a_id', 'person_b_id', name='uq_dedup_pairs_people')
    )
    with op.batch_alter_table('dedup_pairs', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_dedup_pairs_household_a_id'), ['household_a_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_dedup_pairs_household_b_id'), ['household_b_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_dedup_pairs_person_b_id'), ['person_b_id'], unique=False)
        batch_op.create_index('ix_dedup_pairs_queue', ['status', 'match_probability'], unique=False)

    op.create_table('dedup_decisions',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('pair_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('action', sa.String(length=10), nullable=False),
    sa.Column('status_before', sa.String(length=10), nullable=False),
    sa.Column('status_after', sa.String(length=10), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('username', sa.String(length=120), nullable=False),
    sa.Column('at', sa.DateTime(), nullable=False),
    sa.Column('note', sa.String(length=500), nullable=True),
    sa.ForeignKeyConstraint(['pair_id'], ['dedup_pairs.id'], name=op.f('fk_dedup_decisions_pair_id_dedup_pairs'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_dedup_decisions_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_dedup_decisions'))
    )
    with op.batch_alter_table('dedup_decisions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_dedup_decisions_pair_id'), ['pair_id'], unique=False)

    op.create_table('dedup_merges',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('pair_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('identity_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('merged_by', sa.Integer(), nullable=True),
    sa.Column('merged_at', sa.DateTime(), nullable=False),
    sa.Column('unmerged_by', sa.Integer(), nullable=True),
    sa.Column('unmerged_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['identity_id'], ['dedup_identities.id'], name=op.f('fk_dedup_merges_identity_id_dedup_identities')),
    sa.ForeignKeyConstraint(['merged_by'], ['users.id'], name=op.f('fk_dedup_merges_merged_by_users')),
    sa.ForeignKeyConstraint(['pair_id'], ['dedup_pairs.id'], name=op.f('fk_dedup_merges_pair_id_dedup_pairs'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['unmerged_by'], ['users.id'], name=op.f('fk_dedup_merges_unmerged_by_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_dedup_merges'))
    )
    with op.batch_alter_table('dedup_merges', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_dedup_merges_pair_id'), ['pair_id'], unique=False)

    op.create_table('dedup_identity_links',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('person_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('identity_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('merge_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('ended_at', sa.DateTime(), nullable=True),
    sa.Column('ended_by', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('end_reason', sa.String(length=10), nullable=True),
    sa.ForeignKeyConstraint(['ended_by'], ['dedup_merges.id'], name=op.f('fk_dedup_identity_links_ended_by_dedup_merges'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['identity_id'], ['dedup_identities.id'], name=op.f('fk_dedup_identity_links_identity_id_dedup_identities')),
    sa.ForeignKeyConstraint(['merge_id'], ['dedup_merges.id'], name=op.f('fk_dedup_identity_links_merge_id_dedup_merges'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['person_id'], ['people.id'], name=op.f('fk_dedup_identity_links_person_id_people'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_dedup_identity_links'))
    )
    with op.batch_alter_table('dedup_identity_links', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_dedup_identity_links_identity_id'), ['identity_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_dedup_identity_links_merge_id'), ['merge_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_dedup_identity_links_person_id'), ['person_id'], unique=False)

    roles = sa.table('roles', sa.column('id', sa.Integer), sa.column('name', sa.String))
    grants = sa.table('role_permissions', sa.column('role_id', sa.Integer), sa.column('permission', sa.String))
    conn = op.get_bind()
    for role, permissions in NEW_PERMISSIONS.items():
        role_id = conn.execute(sa.select(roles.c.id).where(roles.c.name == role)).scalar()
        if role_id is None:
            continue
        have = set(conn.execute(sa.select(grants.c.permission).where(grants.c.role_id == role_id)).scalars())
        if not have:
            continue  # a role without permissions gets all its defaults from accounts.sync_roles
        for permission in permissions:
            if permission not in have:
                conn.execute(grants.insert().values(role_id=role_id, permission=permission))


def downgrade() -> None:
    conn = op.get_bind()
    conn.execute(sa.text("DELETE FROM role_permissions WHERE permission IN ('dedup:run:start', 'dedup:pair:review')"))
    with op.batch_alter_table('dedup_identity_links', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_dedup_identity_links_person_id'))
        batch_op.drop_index(batch_op.f('ix_dedup_identity_links_merge_id'))
        batch_op.drop_index(batch_op.f('ix_dedup_identity_links_identity_id'))

    op.drop_table('dedup_identity_links')
    with op.batch_alter_table('dedup_merges', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_dedup_merges_pair_id'))

    op.drop_table('dedup_merges')
    with op.batch_alter_table('dedup_decisions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_dedup_decisions_pair_id'))

    op.drop_table('dedup_decisions')
    with op.batch_alter_table('dedup_pairs', schema=None) as batch_op:
        batch_op.drop_index('ix_dedup_pairs_queue')
        batch_op.drop_index(batch_op.f('ix_dedup_pairs_person_b_id'))
        batch_op.drop_index(batch_op.f('ix_dedup_pairs_household_b_id'))
        batch_op.drop_index(batch_op.f('ix_dedup_pairs_household_a_id'))

    op.drop_table('dedup_pairs')
    with op.batch_alter_table('dedup_household_pairs', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_dedup_household_pairs_household_b_id'))

    op.drop_table('dedup_household_pairs')
    with op.batch_alter_table('dedup_runs', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_dedup_runs_batch_id'))

    op.drop_table('dedup_runs')
    op.drop_table('dedup_models')
    op.drop_table('dedup_identities')
