"""messages.answer_state and its lease: each shopper message is answered exactly once, by one worker

Revision ID: 0004_answer_state
Revises: 0003_dialogue
Create Date: 2026-12-01
"""
import sqlalchemy as sa
from alembic import op

revision = "0004_answer_state"
down_revision = "0003_dialogue"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("messages") as batch:
        batch.add_column(sa.Column("answer_state", sa.String(length=20), nullable=True))
        batch.add_column(sa.Column("answer_attempts", sa.Integer(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("lease_owner", sa.String(length=100), nullable=True))
        batch.add_column(sa.Column("lease_until", sa.DateTime(), nullable=True))
        batch.add_column(sa.Column("reply_to", sa.Integer(), nullable=True))
        batch.create_unique_constraint("uq_messages_session_reply_to", ["session_id", "reply_to"])
        batch.create_index("ix_messages_answer_state", ["answer_state", "created_at"])
    # messages stored before answer states existed were handled by the inline path: never re-answer them
    op.execute("UPDATE messages SET answer_state = 'answered' WHERE author = 'shopper'")


def downgrade() -> None:
    with op.batch_alter_table("messages") as batch:
        batch.drop_index("ix_messages_answer_state")
        batch.drop_constraint("uq_messages_session_reply_to", type_="unique")
        for column in ("reply_to", "lease_until", "lease_owner", "answer_attempts", "answer_state"):
            batch.drop_column(column)
