"""Privacy: chat_sessions.activity_consent (the shopper's choice about behaviour tracking) and audit_log
(who read which transcript, customer record or export, and who erased what)

Revision ID: 0005_privacy
Revises: 0004_answer_state
Create Date: 2026-12-01
"""
import sqlalchemy as sa
from alembic import op

revision = "0005_privacy"
down_revision = "0004_answer_state"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("chat_sessions") as batch:
        batch.add_column(sa.Column("activity_consent", sa.Boolean(), nullable=False, server_default=sa.true()))
    op.create_table(
        "audit_log",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column("actor_role", sa.String(20), nullable=False),
        sa.Column("actor_name", sa.String(200), nullable=False, server_default=""),
        sa.Column("action", sa.String(40), nullable=False),
        sa.Column("subject_kind", sa.String(40), nullable=False),
        sa.Column("subject_id", sa.String(100), nullable=False),
    )
    op.create_index("ix_audit_log_at", "audit_log", ["at"])
    op.create_index("ix_audit_log_subject", "audit_log", ["subject_kind", "subject_id"])


def downgrade() -> None:
    op.drop_index("ix_audit_log_subject", table_name="audit_log")
    op.drop_index("ix_audit_log_at", table_name="audit_log")
    op.drop_table("audit_log")
    with op.batch_alter_table("chat_sessions") as batch:
        batch.drop_column("activity_consent")
