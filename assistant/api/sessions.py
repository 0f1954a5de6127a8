"""Shopper routes: start a chat session (anonymous, or as a customer the shop has proven), read its transcript."""

from __future__ import annotations

from fastapi import APIRouter, Depends, HTTPException, Request
from pydantic import BaseModel, Field
from sqlalchemy.ext.asyncio import AsyncSession

from assistant.api.deps import client_address, get_db, get_runtime, shopper_session_id
from assistant.config import Settings
from assistant.limits import enforce
from assistant.runtime import Runtime
from assistant.security import customer_signature_matches, issue_session_token
from assistant.store.models import Customer

router = APIRouter(prefix="/api", tags=["shopper"])


class SessionRequest(BaseModel):
    customer_id: str | None = Field(default=None, max_length=64)
    activity_consent: bool | None = Field(default=None, description="the widget's \"use my activity for "
                                          "suggestions\" switch; None = the shop's default")
    customer_sig: str | None = Field(default=None, max_length=128,
                                     description="hex HMAC-SHA256 of customer_id with the identity secret")


class SessionCreated(BaseModel):
    session_id: str
    token: str
    customer_id: str | None = None
    customer_name: str | None = None
    activity_consent: bool = True


@router.post("/sessions", response_model=SessionCreated)
async def start_session(request: Request, body: SessionRequest | None = None, rt: Runtime = Depends(get_runtime),
                        db: AsyncSession = Depends(get_db)) -> SessionCreated:
    address = client_address(request)
    await enforce(rt.limiter, "new sessions", f"sessions:{address}", rt.settings.session_rate_per_address)
    customer_id = body.customer_id if body else None
    name = None
    if customer_id:
        check_customer_proof(rt.settings, customer_id, body.customer_sig)
        customer = await db.get(Customer, customer_id)
        if customer is None:
            raise HTTPException(404, f"unknown customer {customer_id!r}")
        name = customer.name
    consent = body.activity_consent if body and body.activity_consent is not None \
        else rt.settings.activity_consent_default
    chat = await rt.chat.store.create_session(customer_id, activity_consent=consent)
    token = issue_session_token(rt.settings.secret_key, chat.id, rt.settings.session_token_ttl_s)
    return SessionCreated(session_id=chat.id, token=token, customer_id=customer_id, customer_name=name,
                          activity_consent=consent)


def check_customer_proof(settings: Settings, customer_id: str, signature: str | None) -> None:
    """403 unless the shop signed this customer id (demo mode lets anyone pick a demo customer)."""
    if settings.demo_mode:
        return
    if not settings.identity_secret:
        raise HTTPException(403, "this server opens anonymous sessions only: signing in a customer needs "
                            "SHOPASSIST_IDENTITY_SECRET on the server and the shop's customer_sig")
    if not customer_signature_matches(settings.identity_secret, customer_id, signature):
        raise HTTPException(403, "customer_sig does not prove customer_id: the shop's backend signs it with "
                            "HMAC-SHA256 and the identity secret (see docs/security.md)")


@router.get("/sessions/{session_id}/transcript")
async def transcript(session_id: str, token_session: str = Depends(shopper_session_id),
                     rt: Runtime = Depends(get_runtime)) -> list[dict]:
    if token_session != session_id:
        raise HTTPException(403, "this token opens another session")
    return await rt.chat.replay(session_id, 0)
