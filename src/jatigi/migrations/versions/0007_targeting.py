"""targeting: assessments, vulnerability models, runs and scores

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-29 06:50:46
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None

# Roles that exist already keep what they were given; the default roles get the new permissions
# (a new database gets them from accounts.sync_roles).
NEW_PERMISSIONS = {
    "im_officer": ("targeting:assessment:write", "targeting:run:read", "targeting:run:start", "targeting:model:write"),
    "registration_officer": ("targeting:assessment:write", "targeting:run:read"),
}


def upgrade() -> None:
    op.create_table('targeting_models',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=60), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('uses_displacement_status', sa.Boolean(), nullable=False),
    sa.Column('saved_at', sa.DateTime(), nullable=False),
    sa.Column('saved_by', sa.Integer(), nullable=True),
    sa.Column('note', sa.String(length=400), nullable=True),
    sa.ForeignKeyConstraint(['saved_by'], ['users.id'], name=op.f('fk_targeting_models_saved_by_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_targeting_models')),
    sa.UniqueConstraint('name', 'version', name=op.f('uq_targeting_models_name'))
    )
    op.create_table('targeting_runs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('model_id', sa.Integer(), nullable=False),
    sa.Column('org_id', sa.Integer(), nullable=True),
    sa.Column('scope', sa.JSON(), nullable=False),
    sa.Column('uses_displacement_status', sa.Boolean(), nullable=False),
    sa.Column('data_as_of', sa.DateTime(), nullable=False),
    sa.Column('registry_generation', sa.BigInteger(), nullable=False),
    sa.Column('run_by', sa.Integer(), nullable=True),
    sa.Column('run_by_name', sa.String(length=120), nullable=False),
    sa.Column('started_at', sa.DateTime(), nullable=False),
    sa.Column('finished_at', sa.DateTime(), nullable=True),
    sa.Column('counts', sa.JSON(), nullable=True),
    sa.ForeignKeyConstraint(['model_id'], ['targeting_models.id'], name=op.f('fk_targeting_runs_model_id_targeting_models')),
    sa.ForeignKeyConstraint(['org_id'], ['organisations.id'], name=op.f('fk_targeting_runs_org_id_organisations')),
    sa.ForeignKeyConstraint(['run_by'], ['users.id'], name=op.f('fk_targeting_runs_run_by_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_targeting_runs'))
    )
    with op.batch_alter_table('targeting_runs', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_targeting_runs_model_id'), ['model_id'], unique=False)

    op.create_table('assessments',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('household_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('org_id', sa.Integer(), nullable=False),
    sa.Column('assessed_on', sa.Date(), nullable=False),
    sa.Column('source', sa.String(length=10), nullable=False),
    sa.Column('source_uuid', sa.String(length=64), nullable=True),
    sa.Column('enumerator', sa.String(length=120), nullable=True),
    sa.Column('FCSStap', sa.Integer(), nullable=True),
    sa.Column('FCSPulse', sa.Integer(), nullable=True),
    sa.Column('FCSDairy', sa.Integer(), nullable=True),
    sa.Column('FCSPr', sa.Integer(), nullable=True),
    sa.Column('FCSVeg', sa.Integer(), nullable=True),
    sa.Column('FCSFruit', sa.Integer(), nullable=True),
    sa.Column('FCSFat', sa.Integer(), nullable=True),
    sa.Column('FCSSugar', sa.Integer(), nullable=True),
    sa.Column('FCSCond', sa.Integer(), nullable=True),
    sa.Column('rCSILessQlty', sa.Integer(), nullable=True),
    sa.Column('rCSIBorrow', sa.Integer(), nullable=True),
    sa.Column('rCSIMealSize', sa.Integer(), nullable=True),
    sa.Column('rCSIMealAdult', sa.Integer(), nullable=True),
    sa.Column('rCSIMealNb', sa.Integer(), nullable=True),
    sa.Column('HHSNoFood', sa.Integer(), nullable=True),
    sa.Column('HHSNoFood_FR', sa.Integer(), nullable=True),
    sa.Column('HHSBedHung', sa.Integer(), nullable=True),
    sa.Column('HHSBedHung_FR', sa.Integer(), nullable=True),
    sa.Column('HHSNotEat', sa.Integer(), nullable=True),
    sa.Column('HHSNotEat_FR', sa.Integer(), nullable=True),
    sa.Column('HDDSStapCer', sa.Integer(), nullable=True),
    sa.Column('HDDSStapRoot', sa.Integer(), nullable=True),
    sa.Column('HDDSVeg', sa.Integer(), nullable=True),
    sa.Column('HDDSFruit', sa.Integer(), nullable=True),
    sa.Column('HDDSPrMeat', sa.Integer(), nullable=True),
    sa.Column('HDDSPrEgg', sa.Integer(), nullable=True),
    sa.Column('HDDSPrFish', sa.Integer(), nullable=True),
    sa.Column('HDDSPulse', sa.Integer(), nullable=True),
    sa.Column('HDDSDairy', sa.Integer(), nullable=True),
    sa.Column('HDDSFat', sa.Integer(), nullable=True),
    sa.Column('HDDSSugar', sa.Integer(), nullable=True),
    sa.Column('HDDSCond', sa.Integer(), nullable=True),
    sa.Column('Lcs_stress_DomAsset', sa.Integer(), nullable=True),
    sa.Column('Lcs_stress_Saving', sa.Integer(), nullable=True),
    sa.Column('Lcs_stress_BorrowCash', sa.Integer(), nullable=True),
    sa.Column('Lcs_stress_CrdtFood', sa.Integer(), nullable=True),
    sa.Column('Lcs_stress_Utilities', sa.Integer(), nullable=True),
    sa.Column('Lcs_stress_EatOut', sa.Integer(), nullable=True),
    sa.Column('Lcs_crisis_ProdAssets', sa.Integer(), nullable=True),
    sa.Column('Lcs_crisis_Health', sa.Integer(), nullable=True),
    sa.Column('Lcs_crisis_OutSchool', sa.Integer(), nullable=True),
    sa.Column('Lcs_crisis_Housing', sa.Integer(), nullable=True),
    sa.Column('Lcs_crisis_ChildWork', sa.Integer(), nullable=True),
    sa.Column('Lcs_em_ResAsset', sa.Integer(), nullable=True),
    sa.Column('Lcs_em_Begged', sa.Integer(), nullable=True),
    sa.Column('Lcs_em_IllegalAct', sa.Integer(), nullable=True),
    sa.Column('Lcs_em_Marriage', sa.Integer(), nullable=True),
    sa.Column('Lcs_em_FemAnimal', sa.Integer(), nullable=True),
    sa.Column('HHExp_Food_Purch_MN_1M', sa.BigInteger(), nullable=True),
    sa.Column('HHExpNFRent_Purch_MN_1M', sa.BigInteger(), nullable=True),
    sa.Column('HHExpNFMedServ_Purch_MN_1M', sa.BigInteger(), nullable=True),
    sa.Column('HHExpNFEduFee_Purch_MN_1M', sa.BigInteger(), nullable=True),
    sa.Column('HHExpNFWat_Purch_MN_1M', sa.BigInteger(), nullable=True),
    sa.Column('HHExpNFEnerg_Purch_MN_1M', sa.BigInteger(), nullable=True),
    sa.Column('HHExpNFTransp_Purch_MN_1M', sa.BigInteger(), nullable=True),
    sa.Column('HHExpNFPhone_Purch_MN_1M', sa.BigInteger(), nullable=True),
    sa.Column('HHExpNFDebt_Purch_MN_1M', sa.BigInteger(), nullable=True),
    sa.Column('HHExpNFOther_Purch_MN_1M', sa.BigInteger(), nullable=True),
    sa.Column('HHIncFirst_SRi', sa.Integer(), nullable=True),
    sa.Column('HHIncNb', sa.Integer(), nullable=True),
    sa.Column('HHDebt_Est', sa.BigInteger(), nullable=True),
    sa.Column('HHRentArrears_Est', sa.BigInteger(), nullable=True),
    sa.Column('HHSize', sa.Integer(), nullable=True),
    sa.Column('HHDependents', sa.Integer(), nullable=True),
    sa.Column('HHWorkingAge', sa.Integer(), nullable=True),
    sa.Column('HHRooms', sa.Integer(), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('created_by', sa.Integer(), nullable=True),
    sa.Column('updated_at', sa.DateTime(), nullable=True),
    sa.Column('deleted_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['created_by'], ['users.id'], name=op.f('fk_assessments_created_by_users')),
    sa.ForeignKeyConstraint(['household_id'], ['households.id'], name=op.f('fk_assessments_household_id_households'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['org_id'], ['organisations.id'], name=op.f('fk_assessments_org_id_organisations')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_assessments')),
    sa.UniqueConstraint('org_id', 'source_uuid', name='uq_assessments_org_id_source_uuid')
    )
    with op.batch_alter_table('assessments', schema=None) as batch_op:
        batch_op.create_index('ix_assessments_household_day', ['household_id', 'assessed_on'], unique=False)

    op.create_table('targeting_scores',
    sa.Column('run_id', sa.Integer(), nullable=False),
    sa.Column('household_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('household_version', sa.Integer(), nullable=False),
    sa.Column('assessment_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('score', sa.Float(), nullable=False),
    sa.Column('category', sa.String(length=40), nullable=True),
    sa.Column('excluded', sa.Boolean(), nullable=False),
    sa.Column('exclusion', sa.String(length=60), nullable=True),
    sa.Column('not_assessed', sa.SmallInteger(), nullable=False),
    sa.Column('population_group', sa.String(length=30), nullable=True),
    sa.Column('head_sex', sa.String(length=1), nullable=True),
    sa.Column('admin1', sa.String(length=32), nullable=True),
    sa.Column('pcode', sa.String(length=32), nullable=True),
    sa.ForeignKeyConstraint(['household_id'], ['households.id'], name=op.f('fk_targeting_scores_household_id_households'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['run_id'], ['targeting_runs.id'], name=op.f('fk_targeting_scores_run_id_targeting_runs'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('run_id', 'household_id', name=op.f('pk_targeting_scores'))
    )
    op.create_index('ix_targeting_scores_groups', 'targeting_scores',
                    ['run_id', 'population_group', 'head_sex', 'admin1', 'score', 'excluded', 'category',
                     'not_assessed', 'household_id'])
    _grant_new_permissions()


def _grant_new_permissions() -> None:
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
    op.get_bind().execute(sa.text("DELETE FROM role_permissions WHERE permission LIKE 'targeting:%'"))
    op.drop_index('ix_targeting_scores_groups', table_name='targeting_scores')
    op.drop_table('targeting_scores')
    with op.batch_alter_table('assessments', schema=None) as batch_op:
        batch_op.drop_index('ix_assessments_household_day')

    op.drop_table('assessments')
    with op.batch_alter_table('targeting_runs', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_targeting_runs_model_id'))

    op.drop_table('targeting_runs')
    op.drop_table('targeting_models')
