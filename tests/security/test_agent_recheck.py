"""The agent socket's periodic re-check survives a store error, so a later loss of access still closes it.

Failed before (issue 11, item 2): the re-check ran as a task whose first exception other than a refusal
(the database restarting, a dropped connection) ended it silently; the socket stayed open with no
re-check at all, so deleting the agent or signing out afterwards no longer closed it.
"""

from __future__ import annotations

import asyncio
from types import SimpleNamespace

from fastapi import HTTPException
from sqlalchemy.exc import OperationalError

from assistant.handoff import socket as agent_socket


class ClosingSender:
    def __init__(self) -> None:
        self.closed: list[tuple[str, int]] = []

    async def close(self, reason: str, code: int) -> None:
        self.closed.append((reason, code))


async def test_a_store_error_during_a_recheck_does_not_end_the_rechecks(monkeypatch):
    answers = [OperationalError("SELECT agents", {}, ConnectionError("server closed the connection")),
               None,  # the store is back and the agent still may
               HTTPException(401, "this agent account no longer exists")]

    async def agent_from_token(rt, token):
        answer = answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return SimpleNamespace(role="agent")

    monkeypatch.setattr(agent_socket, "agent_from_token", agent_from_token)
    sender = ClosingSender()
    rt = SimpleNamespace(settings=SimpleNamespace(agent_recheck_s=0.01))
    await asyncio.wait_for(agent_socket._recheck_access(sender, rt, "a token"), timeout=10)
    assert sender.closed == [("this agent account no longer exists", agent_socket.CLOSE_UNAUTHORIZED)]
    assert answers == []
