"""Demo-mode routes (`shopassist serve --demo` only): the demo page lists a few customers to sign in as."""

from __future__ import annotations

from fastapi import APIRouter, Depends
from pydantic import BaseModel
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from assistant.api.deps import get_db
from assistant.privacy.erasure import ERASED_PREFIX
from assistant.store.models import Customer, Order

router = APIRouter(prefix="/api/demo", tags=["demo"])


class DemoCustomer(BaseModel):
    id: str
    name: str
    orders: int


@router.get("/customers", response_model=list[DemoCustomer])
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
