"""items.consumable, A/B tests of recommendation serving settings, and the test of each exposure

Revision ID: 0008_recs_serving
Revises: 0007_item_active
Create Date: 2026-12-01
"""
import sqlalchemy as sa
from alembic import op

revision = "0008_recs_serving"
down_revision = "0007_item_active"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("items") as batch:
        batch.add_column(sa.Column("consumable", sa.Boolean(), nullable=False, server_default=sa.false()))
    op.create_table(
        "ab_tests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("winner", sa.String(length=20), nullable=True),
        sa.Column("winner_settings", sa.JSON(), nullable=True),
        sa.Column("started_at", sa.DateTime(), nullable=False),
        sa.Column("stopped_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_ab_tests_status", "ab_tests", ["status"])
    op.create_table(
        "ab_variants",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("test_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=20), nullable=False),
        sa.Column("share", sa.Float(), nullable=False),
        sa.Column("settings", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(["test_id"], ["ab_tests.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("test_id", "name", name="uq_ab_variants_test_name"),
    )
    op.create_index("ix_ab_variants_test_id", "ab_variants", ["test_id"])
    with op.batch_alter_table("rec_exposures") as batch:
        batch.add_column(sa.Column("ab_test_id", sa.Integer(), nullable=True))
        batch.create_foreign_key("fk_rec_exposures_ab_test_id", "ab_tests", ["ab_test_id"], ["id"])
        batch.create_index("ix_rec_exposures_ab_test_id", ["ab_test_id"])


def downgrade() -> None:
    with op.batch_alter_table("rec_exposures") as batch:
        batch.drop_index("ix_rec_exposures_ab_test_id")
        batch.drop_constraint("fk_rec_exposures_ab_test_id", type_="foreignkey")
        batch.drop_column("ab_test_id")
    op.drop_index("ix_ab_variants_test_id", table_name="ab_variants")
    op.drop_table("ab_variants")
    op.drop_index("ix_ab_tests_status", table_name="ab_tests")
    op.drop_table("ab_tests")
    with op.batch_alter_table("items") as batch:
        batch.drop_column("consumable")
