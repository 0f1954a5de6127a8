"""Shopper routes: start a chat session (anonymous or as a demo customer), read its transcript."""

from __future__ import annotations

from fastapi import APIRouter, Depends, HTTPException, Request
from pydantic import BaseModel, Field
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from assistant.api.deps import client_address, get_db, get_runtime, shopper_session_id
from assistant.limits import enforce
from assistant.privacy.erasure import ERASED_PREFIX
from assistant.runtime import Runtime
from assistant.security import issue_session_token
from assistant.store.models import Customer, Order

router = APIRouter(prefix="/api", tags=["shopper"])


class SessionRequest(BaseModel):
    customer_id: str | None = Field(default=None, max_length=64)
    activity_consent: bool | None = Field(default=None, description="the widget's \"use my activity for "
                                          "suggestions\" switch; None = the shop's default")


class SessionCreated(BaseModel):
    session_id: str
    token: str
    customer_id: str | None = None
    customer_name: str | None = None
    activity_consent: bool = True


class DemoCustomer(BaseModel):
    id: str
    name: str
    orders: int


@router.post("/sessions", response_model=SessionCreated)
async def start_session(request: Request, body: SessionRequest | None = None, rt: Runtime = Depends(get_runtime),
                        db: AsyncSession = Depends(get_db)) -> SessionCreated:
    address = client_address(request)
    await enforce(rt.limiter, "new sessions", f"sessions:{address}", rt.settings.session_rate_per_address)
    customer_id = body.customer_id if body else None
    name = None
    if customer_id:
        customer = await db.get(Customer, customer_id)
        if customer is None:
            raise HTTPException(404, f"unknown customer {customer_id!r}")
        name = customer.name
    consent = body.activity_consent if body and body.activity_consent is not None \
        else rt.settings.activity_consent_default
    chat = await rt.chat.store.create_session(customer_id, activity_consent=consent)
    return SessionCreated(session_id=chat.id, token=issue_session_token(rt.settings.secret_key, chat.id),
                          customer_id=customer_id, customer_name=name, activity_consent=consent)


@router.get("/sessions/{session_id}/transcript")
async def transcript(session_id: str, token_session: str = Depends(shopper_session_id),
                     rt: Runtime = Depends(get_runtime)) -> list[dict]:
    if token_session != session_id:
        raise HTTPException(403, "this token opens another session")
    return await rt.chat.replay(session_id, 0)


@router.get("/demo/customers", response_model=list[DemoCustomer])
async def demo_customers(db: AsyncSession = Depends(get_db), limit: int = 8) -> list[DemoCustomer]:
    """A few demo shoppers with orders, for the demo page's sign-in."""
    rows = await db.execute(
        select(Customer.id, Customer.name, func.count(Order.id).label("n"))
        .join(Order, Order.customer_id == Customer.id)
        .where(Customer.id.not_like(ERASED_PREFIX + "%"))  # orders kept anonymous after an erasure
        .group_by(Customer.id, Customer.name)
        .order_by(func.count(Order.id).desc(), Customer.id)
        .limit(min(max(limit, 1), 50))
    )
    return [DemoCustomer(id=r.id, name=r.name, orders=r.n) for r in rows]
