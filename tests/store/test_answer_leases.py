"""Answer leases on SQLite and PostgreSQL: one claim wins, a lost lease stores no reply, stale messages return.

On the old main nothing marked a message unanswered: a worker killed after the ack left it so for good.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

from sqlalchemy import update

from assistant.chat.answer_leases import AnswerLeases
from assistant.chat.conversations import ConversationStore
from assistant.store.models import AnswerState, Author, Message, utcnow


async def pending_message(sessions, text: str = "where is my order?", age_s: float = 0.0):
    store = ConversationStore(sessions)
    chat = await store.create_session(None)
    stored = await store.append(chat.id, Author.SHOPPER, text, client_msg_id="c1", answer_state=AnswerState.PENDING)
    if age_s:
        async with sessions() as db:
            await db.execute(update(Message).where(Message.id == stored.message_id)
                             .values(created_at=utcnow() - timedelta(seconds=age_s)))
            await db.commit()
    return store, chat, stored


async def test_of_many_workers_claiming_one_message_exactly_one_wins(sessions):
    _, _, stored = await pending_message(sessions)
    workers = [AnswerLeases(sessions, lease_s=30, worker=f"w{i}") for i in range(8)]
    claims = await asyncio.gather(*(w.claim(stored.message_id) for w in workers))
    assert sum(c is not None for c in claims) == 1


async def test_a_reply_whose_lease_was_taken_over_is_not_stored(sessions):
    store, chat, stored = await pending_message(sessions)
    slow, fast = AnswerLeases(sessions, lease_s=0, worker="slow"), AnswerLeases(sessions, lease_s=30, worker="fast")
    old = await slow.claim(stored.message_id)
    await asyncio.sleep(0.01)  # the zero-second lease has expired: another worker may take the message
    new = await fast.claim(stored.message_id)
    assert old is not None and new is not None

    def reply(claim, leases):
        return store.append(chat.id, Author.BOT, f"answer by {leases.worker}", reply_to=claim.seq,
                            settle=lambda db: leases.settle(db, claim, AnswerState.ANSWERED))

    assert await reply(old, slow) is None
    assert await reply(new, fast) is not None
    assert await reply(new, fast) is None  # settled: a second reply is refused too
    bots = [m for m in await store.messages_after(chat.id, 0) if m.author == Author.BOT]
    assert [(m.text, m.reply_to) for m in bots] == [("answer by fast", stored.seq)]


async def test_the_sweep_takes_old_pending_messages_with_a_free_or_expired_lease(sessions):
    await pending_message(sessions)  # too young: its socket's worker is answering it
    _, _, old = await pending_message(sessions, age_s=60)
    _, _, held = await pending_message(sessions, age_s=60)
    other = AnswerLeases(sessions, lease_s=30, worker="other")
    assert await other.claim(held.message_id) is not None
    sweeper = AnswerLeases(sessions, lease_s=30, worker="sweeper")
    claimed = await sweeper.claim_stale(older_than_s=5, limit=10)
    assert [c.message_id for c in claimed] == [old.message_id]
    assert claimed[0].attempts == 1
    assert await sweeper.claim_stale(older_than_s=5, limit=10) == []  # now leased by the sweeper itself


async def test_a_swept_session_is_claimed_one_message_at_a_time_in_order(sessions):
    store, chat, first = await pending_message(sessions, age_s=60)
    second = await store.append(chat.id, Author.SHOPPER, "and my refund?", client_msg_id="c2",
                                answer_state=AnswerState.PENDING)
    leases = AnswerLeases(sessions, lease_s=30, worker="w")
    swept = await leases.claim_stale(older_than_s=5, limit=10)
    assert [c.message_id for c in swept] == [first.message_id]  # the later one waits: no lease runs out
    assert await leases.claim_next(chat.id) is None  # the oldest pending is leased (being answered)
    assert await leases.settle_now(swept[0], AnswerState.ANSWERED)
    assert (await leases.claim_next(chat.id)).message_id == second.message_id


async def test_a_renewed_lease_is_not_taken_over(sessions):
    _, _, stored = await pending_message(sessions, age_s=60)
    slow = AnswerLeases(sessions, lease_s=0.3, worker="slow")
    claim = await slow.claim(stored.message_id)
    for _ in range(3):  # a turn longer than its lease, renewed as the answering worker does
        await asyncio.sleep(0.1)
        assert await slow.extend(claim)
    assert await AnswerLeases(sessions, lease_s=30, worker="other").claim_stale(older_than_s=5, limit=10) == []
