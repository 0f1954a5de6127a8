"""jobs.active_kind, worker, heartbeat_at: one running job per kind cluster-wide, dead workers' jobs failed

Revision ID: 0006_job_heartbeats
Revises: 0005_privacy
Create Date: 2026-12-01
"""
import sqlalchemy as sa
from alembic import op

revision = "0006_job_heartbeats"
down_revision = "0005_privacy"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("jobs") as batch:
        batch.add_column(sa.Column("active_kind", sa.String(length=50), nullable=True))
        batch.add_column(sa.Column("worker", sa.String(length=120), nullable=True))
        batch.add_column(sa.Column("heartbeat_at", sa.DateTime(), nullable=True))
        batch.create_unique_constraint("uq_jobs_active_kind", ["active_kind"])
    # jobs left "running"/"queued" by the old code have no heartbeat: they ended with their process
    op.execute("UPDATE jobs SET status = 'failed' WHERE status IN ('queued', 'running')")


def downgrade() -> None:
    with op.batch_alter_table("jobs") as batch:
        batch.drop_constraint("uq_jobs_active_kind", type_="unique")
        batch.drop_column("heartbeat_at")
        batch.drop_column("worker")
        batch.drop_column("active_kind")
