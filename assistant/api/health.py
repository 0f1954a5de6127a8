"""GET /healthz: whether each dependency answers (store, bus, Chroma, models); 503 when one does not.

A load balancer takes a worker out of rotation on 503; an operator sees which dependency failed.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse
from sqlalchemy import text

from assistant.api.deps import get_runtime
from assistant.runtime import Runtime

router = APIRouter(tags=["operations"])


@router.get("/healthz")
async def healthz(rt: Runtime = Depends(get_runtime)) -> JSONResponse:
    checks: dict[str, Callable[[], Awaitable[Any]]] = {
        "store": lambda: _store(rt), "bus": rt.bus.ping,
        "chroma": lambda: asyncio.to_thread(rt.faq.count), "models": lambda: _models(rt),
    }
    results = dict(zip(checks, await asyncio.gather(*(_check(c, rt.settings.health_timeout_s)
                                                      for c in checks.values())), strict=True))
    ok = all(r["ok"] for r in results.values())
    return JSONResponse({"ok": ok, "checks": results}, status_code=200 if ok else 503)


async def _check(probe: Callable[[], Awaitable[Any]], timeout_s: float) -> dict[str, Any]:
    started = time.perf_counter()
    try:
        detail = await asyncio.wait_for(probe(), timeout_s)
    except Exception as e:  # noqa: BLE001 (any failure of a dependency is reported, none raised)
        return {"ok": False, "error": f"{type(e).__name__}: {e}"[:300]}
    result: dict[str, Any] = {"ok": True, "ms": round((time.perf_counter() - started) * 1000, 1)}
    if isinstance(detail, dict):
        result.update(detail)
    return result


async def _store(rt: Runtime) -> None:
    async with rt.sessions() as db:
        await db.execute(text("SELECT 1"))


async def _models(rt: Runtime) -> dict[str, Any]:
    if rt.intent_service is None:
        raise RuntimeError("no intent model loaded")
    # the recommender is optional: without it suggestions fall back to product search
    return {"intent": True, "recommender": rt.recommender.current is not None}
