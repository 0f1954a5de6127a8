"""The answering worker of one process: answers pending shopper messages under a lease, apart from any socket.

A new message is stored already leased to the worker that took it (no claim statement a turn) and
handed over at once (`submit`); a retry whose answer is missing is claimed first. A sweep at start-up
and every `answer_sweep_s` claims pending messages older than `answer_grace_s` whose lease is free or
expired (a worker that died mid-turn, or before the turn began) and answers them, then the rest of each
such session's backlog, one claim at a time. One session's messages are answered one at a time, in seq
order, since each turn reads the state the previous one left.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from collections.abc import AsyncIterator, Coroutine
from contextlib import asynccontextmanager, suppress
from typing import Any

from assistant import metrics
from assistant.chat.answer_leases import AnswerLeases, Claim
from assistant.chat.service import ChatService
from assistant.store.models import AnswerState

log = logging.getLogger(__name__)


class Answerer:
    def __init__(self, chat: ChatService, leases: AnswerLeases, *, grace_s: float, sweep_s: float,
                 batch: int, max_attempts: int) -> None:
        self._chat = chat
        self.leases = leases
        self._grace_s = grace_s
        self._sweep_s = sweep_s
        self._batch = batch
        self._max_attempts = max_attempts
        self._tasks: set[asyncio.Task] = set()
        self._turns: dict[str, asyncio.Lock] = defaultdict(asyncio.Lock)
        self._waiting: dict[str, int] = defaultdict(int)
        self._sweeper: asyncio.Task | None = None

    def start(self) -> None:
        """Sweep now (messages a previous process left pending) and then periodically."""
        self._sweeper = asyncio.create_task(self._sweep_forever())

    def submit(self, session_id: str, message_id: int, claim: Claim | None = None) -> asyncio.Task:
        """Answer a stored message in the background: under `claim` when it was stored leased to this worker,
        else claimed first (no-op when someone else holds or settled it)."""
        return self._spawn(self._claim_and_answer(session_id, message_id, claim))

    async def sweep(self) -> int:
        """Claim stale pending messages and answer them; returns how many were claimed."""
        claims = await self.leases.claim_stale(self._grace_s, self._batch)
        for claim in claims:
            self._spawn(self._answer_backlog(claim))
        if claims:
            metrics.ANSWER_SWEPT.inc(len(claims))
            log.info("answer sweep claimed %d pending message(s)", len(claims))
        return len(claims)

    async def close(self, wait_s: float) -> None:
        """Stop sweeping; let turns in progress finish for up to `wait_s`, then give their leases back."""
        if self._sweeper is not None:
            self._sweeper.cancel()
            with suppress(asyncio.CancelledError):
                await self._sweeper
        if self._tasks:
            await asyncio.wait(list(self._tasks), timeout=wait_s)
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> asyncio.Task:
        task = asyncio.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def _sweep_forever(self) -> None:
        while True:
            try:
                await self.sweep()
            except Exception:  # the store is down: the next sweep tries again
                log.warning("answer sweep failed", exc_info=True)
            await asyncio.sleep(self._sweep_s)

    async def _claim_and_answer(self, session_id: str, message_id: int, claim: Claim | None) -> None:
        async with self._turn(session_id):
            try:
                claim = claim or await self.leases.claim(message_id)
            except Exception:  # the store is down: the sweep answers it later
                log.warning("could not claim message %s; the sweep retries", message_id, exc_info=True)
                return
            if claim is not None:
                await self._answer(claim)

    async def _answer_backlog(self, claim: Claim) -> None:
        """A swept message, then the session's later pending ones, one claim at a time."""
        session_id = claim.session_id
        async with self._turn(session_id):
            while claim is not None and await self._answer(claim):
                try:
                    claim = await self.leases.claim_next(session_id)
                except Exception:  # the store is down: the next sweep goes on
                    log.warning("could not claim the next message of session %s", session_id, exc_info=True)
                    return

    async def _answer(self, claim: Claim) -> bool:
        """Answer (or give to a person) a claimed message; False when it failed and was left for a retry."""
        renewing = asyncio.create_task(self._keep_lease(claim))
        try:
            return await self._answer_leased(claim)
        finally:
            renewing.cancel()

    async def _keep_lease(self, claim: Claim) -> None:
        """Renew the lease every third of its length while the turn runs (a killed worker stops renewing)."""
        while True:
            await asyncio.sleep(self.leases.lease_s / 3)
            try:
                if not await self.leases.extend(claim):
                    return
            except Exception:  # the store is down: the settle will tell whether the lease held
                log.warning("could not renew the lease on message %s", claim.message_id, exc_info=True)

    async def _answer_leased(self, claim: Claim) -> bool:
        try:
            if claim.attempts > self._max_attempts:
                await self._give_to_person(claim)
            else:
                await self._chat.answer(claim, self.leases)
        except asyncio.CancelledError:
            with suppress(Exception):
                await asyncio.shield(self.leases.release(claim))
            raise
        except Exception:
            metrics.ANSWER_FAILURES.inc()
            log.exception("answering message %s failed (attempt %d); the sweep retries",
                          claim.message_id, claim.attempts)
            with suppress(Exception):
                await self.leases.release(claim)
            return False
        return True

    async def _give_to_person(self, claim: Claim) -> None:
        """A message the bot failed on `max_attempts` times goes to a person instead of failing forever."""
        if await self.leases.settle_now(claim, AnswerState.WITH_PERSON):
            await self._chat.hand_off(claim.session_id, "bot_failed")

    @asynccontextmanager
    async def _turn(self, session_id: str) -> AsyncIterator[None]:
        """One turn at a time per session in this process (the lock is dropped when nobody waits)."""
        self._waiting[session_id] += 1
        try:
            async with self._turns[session_id]:
                yield
        finally:
            self._waiting[session_id] -= 1
            if not self._waiting[session_id]:
                del self._waiting[session_id], self._turns[session_id]
