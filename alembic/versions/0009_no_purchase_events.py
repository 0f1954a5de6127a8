"""behaviour_events of kind purchase deleted: purchases come only from the order store

Old sockets stored a `purchase` event for any item any client named; they trained the recommender and
hid items as "recently bought". The readers ignore the kind now; this removes the rows already stored.

Revision ID: 0009_no_purchase_events
Revises: 0008_recs_serving
Create Date: 2026-12-07
"""
import sqlalchemy as sa
from alembic import op

revision = "0009_no_purchase_events"
down_revision = "0008_recs_serving"
branch_labels = None
depends_on = None


def upgrade() -> None:
    events = sa.table("behaviour_events", sa.column("kind", sa.String))
    op.execute(events.delete().where(events.c.kind == "purchase"))


def downgrade() -> None:
    pass  # the deleted events were forged or duplicated orders: nothing to restore
