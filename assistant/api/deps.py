"""Shared route dependencies: the runtime, a DB session, the current shopper session or agent."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace
from typing import Annotated

from fastapi import Depends, HTTPException, Path, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.ext.asyncio import AsyncSession

from assistant.runtime import Runtime
from assistant.security import AgentClaims, TokenError, read_agent_token, read_session_token
from assistant.store.models import Agent, RevokedToken

bearer = HTTPBearer(auto_error=False)
# an id in a URL as the store holds it (32-bit columns): a larger number is a 422, not an overflow (500)
StoreId = Annotated[int, Path(ge=0, le=2**31 - 1)]
AGENT_ROLES = ("agent", "admin")


def get_runtime(request: Request) -> Runtime:
    return request.app.state.runtime


def client_address(request: Request) -> str:
    """The caller's address, as the limits count it (uvicorn reads X-Forwarded-For from trusted proxies)."""
    return request.client.host if request.client else "unknown"


async def get_db(rt: Runtime = Depends(get_runtime)) -> AsyncIterator[AsyncSession]:
    async with rt.sessions() as db:
        yield db


def shopper_session_id(
    creds: HTTPAuthorizationCredentials | None = Depends(bearer), rt: Runtime = Depends(get_runtime)
) -> str:
    """The chat session a shopper token opens (401 when missing, forged or not a shopper token)."""
    try:
        return read_session_token(rt.settings.secret_key, creds.credentials if creds else None)
    except TokenError as e:
        raise HTTPException(401, str(e)) from e


async def current_agent(
    creds: HTTPAuthorizationCredentials | None = Depends(bearer), rt: Runtime = Depends(get_runtime)
) -> AgentClaims:
    """The signed-in agent or admin: 401 for a missing, forged, expired, revoked or shopper token, 403 for
    a valid token of a role that is neither."""
    return check_agent_role(await agent_from_token(rt, creds.credentials if creds else None))


def check_agent_role(agent: AgentClaims) -> AgentClaims:
    if agent.role not in AGENT_ROLES:
        raise HTTPException(403, "agent or admin role required")
    return agent


async def agent_from_token(rt: Runtime, token: str | None) -> AgentClaims:
    """The agent a token names, as the store says it is now: 401 for a bad, expired or revoked token or an
    agent that no longer exists; the role and name are the row's (a demoted admin is an agent at once)."""
    try:
        claims = read_agent_token(rt.settings.secret_key, token)
    except TokenError as e:
        raise HTTPException(401, str(e)) from e
    if claims.role not in AGENT_ROLES:
        return claims  # signed, but never an agent token: check_agent_role answers 403
    async with rt.sessions() as db:
        if await db.get(RevokedToken, claims.jti) is not None:
            raise HTTPException(401, "token revoked")
        agent = await db.get(Agent, claims.agent_id)
    if agent is None:
        raise HTTPException(401, "this agent account no longer exists")
    return replace(claims, role=agent.role, name=agent.name)


async def current_admin(agent: AgentClaims = Depends(current_agent)) -> AgentClaims:
    if agent.role != "admin":
        raise HTTPException(403, "admin role required")
    return agent
