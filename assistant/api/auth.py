"""Agent and admin sign-in: login returns a signed, expiring token; logout revokes it."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import APIRouter, Depends, HTTPException, Request
from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from assistant.api.deps import client_address, current_agent, get_db, get_runtime
from assistant.limits import LoginThrottle
from assistant.runtime import Runtime
from assistant.security import AgentClaims, check_password, issue_agent_token
from assistant.store.models import Agent, RevokedToken

router = APIRouter(prefix="/api/agent", tags=["auth"])


class LoginRequest(BaseModel):
    email: str = Field(min_length=3, max_length=200)
    password: str = Field(min_length=1, max_length=500)


class LoginResponse(BaseModel):
    token: str
    agent_id: int
    name: str
    role: str
    expires_at: int


class Me(BaseModel):
    agent_id: int
    name: str
    role: str


@router.post("/login", response_model=LoginResponse)
async def login(body: LoginRequest, request: Request, rt: Runtime = Depends(get_runtime),
                db: AsyncSession = Depends(get_db)) -> LoginResponse:
    email, address = body.email.strip().lower(), client_address(request)
    throttle = LoginThrottle(rt.limiter, rt.settings)
    await throttle.check(email, address)  # 429 with Retry-After before any password is looked at
    agent = await db.scalar(select(Agent).where(Agent.email == email))
    # off the event loop; an unknown e-mail checks a dummy hash, so timing does not tell which e-mails exist
    if not await check_password(agent.password_hash if agent else None, body.password):
        await throttle.failed(email, address)
        raise HTTPException(401, "wrong email or password")
    await throttle.succeeded(email, address)
    token, claims = issue_agent_token(rt.settings.secret_key, agent.id, agent.role, agent.name,
                                      rt.settings.agent_token_ttl_s)
    return LoginResponse(token=token, agent_id=agent.id, name=agent.name, role=agent.role,
                         expires_at=claims.expires_at)


@router.post("/logout", status_code=204)
async def logout(agent: AgentClaims = Depends(current_agent), db: AsyncSession = Depends(get_db)) -> None:
    db.add(RevokedToken(jti=agent.jti, expires_at=datetime.fromtimestamp(agent.expires_at, UTC).replace(tzinfo=None)))
    await db.commit()


@router.get("/me", response_model=Me)
async def me(agent: AgentClaims = Depends(current_agent)) -> Me:
    return Me(agent_id=agent.agent_id, name=agent.name, role=agent.role)
