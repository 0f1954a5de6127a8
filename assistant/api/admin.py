"""The admin API under /api/admin (admin role on every route): FAQ, catalogue, jobs, dashboard figures,
recommendation A/B tests."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from assistant.api import admin_ab, admin_faq, admin_items, admin_learning, admin_ops, privacy
from assistant.api.deps import current_admin

router = APIRouter(prefix="/api/admin", dependencies=[Depends(current_admin)])
router.include_router(admin_faq.router)
router.include_router(admin_items.router)
router.include_router(admin_ops.router)
router.include_router(admin_learning.router)
router.include_router(privacy.admin_router)
router.include_router(admin_ab.router)
