"""Data-rights routes: an admin exports or erases a customer's data and reads the audit log; a shopper
deletes their own conversation and switches activity tracking on or off (docs/privacy.md)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Query
from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession

from assistant.api.deps import current_admin, get_db, get_runtime, shopper_session_id
from assistant.cluster.announcements import DataErased, announce
from assistant.privacy.audit import SHOPPER, Actor, audit_entries
from assistant.privacy.consent import set_activity_consent
from assistant.privacy.data_rights import erase_customer_data, erase_own_conversation, export_customer_data
from assistant.privacy.export import UnknownCustomer
from assistant.runtime import Runtime
from assistant.security import AgentClaims
from assistant.store.models import ChatSession

admin_router = APIRouter(tags=["admin: personal data"])
shopper_router = APIRouter(prefix="/api/sessions", tags=["shopper"])


class AuditView(BaseModel):
    id: int
    at: datetime
    actor_id: int | None
    actor_role: str
    actor_name: str
    action: str
    subject_kind: str
    subject_id: str


class Consent(BaseModel):
    activity: bool


def tell_other_workers(rt: Runtime):
    """After an erasure: the other workers forget their caches too (assistant/cluster/announcements.py)."""
    return lambda: announce(rt, DataErased())


# ---------- admin ----------


@admin_router.get("/customers/{customer_id}/export")
async def export_customer(customer_id: str, admin: AgentClaims = Depends(current_admin),
                          rt: Runtime = Depends(get_runtime)) -> dict[str, Any]:
    """Every session, message, event, order, left message, exposure and feedback of the customer (audited)."""
    try:
        return await export_customer_data(rt.sessions, customer_id, Actor.of(admin))
    except UnknownCustomer as e:
        raise HTTPException(404, f"no customer {customer_id!r}") from e


@admin_router.delete("/customers/{customer_id}/data")
async def erase_customer(customer_id: str, admin: AgentClaims = Depends(current_admin),
                         rt: Runtime = Depends(get_runtime)) -> dict[str, Any]:
    """Erase everything that names the customer in one transaction; anonymous counts stay (docs/privacy.md)."""
    try:
        report = await erase_customer_data(rt.sessions, customer_id, Actor.of(admin), rt.recommender,
                                           tell_other_workers(rt))
    except UnknownCustomer as e:
        raise HTTPException(404, f"no customer {customer_id!r}") from e
    return {"erased": True, "pseudonym": report.subject, **report.counts()}


@admin_router.get("/audit", response_model=list[AuditView])
async def audit_log(limit: int = Query(50, ge=1, le=500), before_id: int | None = None,
                    subject_id: str | None = None, actor_id: int | None = None,
                    db: AsyncSession = Depends(get_db)) -> list[AuditView]:
    """Who read which transcript, customer record or export, and who erased what; newest first."""
    rows = await audit_entries(db, limit=limit, before_id=before_id, subject_id=subject_id, actor_id=actor_id)
    return [AuditView.model_validate(r, from_attributes=True) for r in rows]


# ---------- shopper ----------


def own_session(session_id: str, token_session: str = Depends(shopper_session_id)) -> str:
    if token_session != session_id:
        raise HTTPException(403, "this token opens another session")
    return session_id


@shopper_router.delete("/{session_id}")
async def delete_conversation(session_id: str = Depends(own_session),
                              rt: Runtime = Depends(get_runtime)) -> dict[str, Any]:
    """The widget's "delete this conversation": its messages, events and everything derived are erased."""
    report = await erase_own_conversation(rt.sessions, session_id, SHOPPER, rt.recommender, tell_other_workers(rt))
    return {"erased": True, **report.counts()}


@shopper_router.get("/{session_id}/consent", response_model=Consent)
async def read_consent(session_id: str = Depends(own_session), db: AsyncSession = Depends(get_db)) -> Consent:
    chat = await db.get(ChatSession, session_id)
    if chat is None:
        raise HTTPException(404, "unknown session")
    return Consent(activity=chat.activity_consent)


@shopper_router.put("/{session_id}/consent", response_model=Consent)
async def change_consent(body: Consent, session_id: str = Depends(own_session),
                         rt: Runtime = Depends(get_runtime)) -> Consent:
    """"Use my activity for suggestions": off stops storing behaviour events and forgets this session's."""
    if not await set_activity_consent(rt.sessions, session_id, body.activity, rt.recommender):
        raise HTTPException(404, "unknown session")
    return body
