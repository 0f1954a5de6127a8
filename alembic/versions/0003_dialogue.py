"""Dialogue state, order actions, returns, frustration, shopper feedback and suggested FAQ entries

- chat_sessions.dialogue: what the conversation is about (order in focus, items last shown, topic);
  priority / mood / frustration: the frustration signal and the queue's urgency; rating: the 1-5 stars
- orders.shipping_address: the address an order ships to (changeable before shipment)
- order_actions: every confirmed change to an order, with who and when (the idempotency key is unique)
- return_requests: a return/refund with its own number and status (track_refund reads it)
- message_feedback: thumbs up/down on a bot reply, one per reply
- faq_suggestions: (shopper question, agent answer) pairs offered to admins as FAQ entries

Revision ID: 0003_dialogue
Revises: 0002
Create Date: 2026-12-01
"""
import sqlalchemy as sa
from alembic import op

revision = "0003_dialogue"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("chat_sessions") as batch:
        batch.add_column(sa.Column("dialogue", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("priority", sa.Integer(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("mood", sa.String(20), nullable=True))
        batch.add_column(sa.Column("frustration", sa.Integer(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("rating", sa.Integer(), nullable=True))
    with op.batch_alter_table("orders") as batch:
        batch.add_column(sa.Column("shipping_address", sa.Text(), nullable=False, server_default=""))
    op.create_table(
        "order_actions",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("key", sa.String(100), nullable=False, unique=True),
        sa.Column("order_id", sa.Integer(), sa.ForeignKey("orders.id"), nullable=False, index=True),
        sa.Column("customer_id", sa.String(64), nullable=False),
        sa.Column("session_id", sa.String(64), nullable=True),
        sa.Column("action", sa.String(40), nullable=False),
        sa.Column("detail", sa.JSON(), nullable=True),
        sa.Column("actor", sa.String(100), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
    )
    op.create_table(
        "return_requests",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("order_id", sa.Integer(), sa.ForeignKey("orders.id"), nullable=False, index=True),
        sa.Column("customer_id", sa.String(64), nullable=False, index=True),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False, server_default=""),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
    )
    op.create_table(
        "message_feedback",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("session_id", sa.String(64), sa.ForeignKey("chat_sessions.id"), nullable=False, index=True),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("helpful", sa.Boolean(), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.UniqueConstraint("session_id", "seq", name="uq_feedback_session_seq"),
    )
    op.create_table(
        "faq_suggestions",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("session_id", sa.String(64), nullable=False),
        sa.Column("question", sa.Text(), nullable=False),
        sa.Column("answer", sa.Text(), nullable=False),
        sa.Column("intent", sa.String(64), nullable=True),
        sa.Column("agent_id", sa.Integer(), sa.ForeignKey("agents.id"), nullable=True),
        sa.Column("status", sa.String(20), nullable=False, index=True),
        sa.Column("faq_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("decided_at", sa.DateTime(), nullable=True),
        sa.UniqueConstraint("session_id", "question", name="uq_suggestion_session_question"),
    )


def downgrade() -> None:
    for table in ("faq_suggestions", "message_feedback", "return_requests", "order_actions"):
        op.drop_table(table)
    with op.batch_alter_table("orders") as batch:
        batch.drop_column("shipping_address")
    with op.batch_alter_table("chat_sessions") as batch:
        for column in ("rating", "frustration", "mood", "priority", "dialogue"):
            batch.drop_column(column)
