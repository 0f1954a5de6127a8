"""items.active: an item withdrawn from sale stays in the store (orders refer to it) but takes no new events

Revision ID: 0007_item_active
Revises: 0006_job_heartbeats
Create Date: 2026-12-01
"""
import sqlalchemy as sa
from alembic import op

revision = "0007_item_active"
down_revision = "0006_job_heartbeats"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("items") as batch:
        batch.add_column(sa.Column("active", sa.Boolean(), nullable=False, server_default=sa.true()))


def downgrade() -> None:
    with op.batch_alter_table("items") as batch:
        batch.drop_column("active")
