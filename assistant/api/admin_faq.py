"""Admin routes of the FAQ: list and search, read, create, edit, delete, revisions, restore, import, export."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request, Response

from assistant.admin.faq_bulk import FORMATS, detect_format, export_faq, import_faq
from assistant.admin.faq_service import FaqInput, FaqService
from assistant.api.admin_errors import admin_errors
from assistant.api.deps import StoreId, current_admin, get_runtime
from assistant.runtime import Runtime
from assistant.security import AgentClaims

router = APIRouter(prefix="/faq", tags=["admin: faq"])


def faq_service(rt: Runtime = Depends(get_runtime)) -> FaqService:
    return FaqService(rt.sessions, rt.faq, rt.settings)


def valid_input(body: FaqInput, rt: Runtime = Depends(get_runtime)) -> FaqInput:
    problems = body.problems(rt.settings)
    if problems:
        raise HTTPException(422, {"error": "the entry is not valid", "problems": problems})
    return body


@router.get("")
async def list_entries(q: str = "", limit: int | None = Query(None, ge=1, le=1000), offset: int = Query(0, ge=0),
                       faq: FaqService = Depends(faq_service)) -> dict[str, Any]:
    return await faq.list(q, limit, offset)


@router.post("", status_code=201)
async def create_entry(body: FaqInput = Depends(valid_input), admin: AgentClaims = Depends(current_admin),
                       faq: FaqService = Depends(faq_service)) -> dict[str, Any]:
    with admin_errors():
        return await faq.create(body, admin.agent_id)


@router.get("/export")
async def export_entries(format: str = Query("json", pattern="^(json|csv)$"),  # noqa: A002 (the query name)
                         faq: FaqService = Depends(faq_service)) -> Response:
    media = "text/csv" if format == "csv" else "application/json"
    return Response(export_faq(await faq.all_entries(), format), media_type=f"{media}; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="faq.{format}"'})


@router.post("/import")
async def import_entries(request: Request, format: str | None = None,  # noqa: A002 (the query name)
                         mode: str = Query("sync", pattern="^(sync|merge)$"), dry_run: bool = False,
                         admin: AgentClaims = Depends(current_admin),
                         faq: FaqService = Depends(faq_service)) -> dict[str, Any]:
    """The request body is the file itself (JSON or CSV, by `format` or the Content-Type)."""
    fmt = format or detect_format(request.headers.get("content-type"))
    if fmt not in FORMATS:
        raise HTTPException(415, f"send JSON or CSV (format= one of {', '.join(FORMATS)})")
    with admin_errors():
        return await import_faq(faq, await request.body(), fmt, mode, dry_run, admin.agent_id)


@router.get("/changes")
async def recent_changes(limit: int | None = Query(None, ge=1, le=1000),
                         faq: FaqService = Depends(faq_service)) -> list[dict[str, Any]]:
    """The latest revisions of all entries (deleted ones too), newest first."""
    return await faq.recent_changes(limit)


@router.get("/{faq_id}")
async def read_entry(faq_id: StoreId, faq: FaqService = Depends(faq_service)) -> dict[str, Any]:
    with admin_errors():
        return await faq.get(faq_id)


@router.put("/{faq_id}")
async def edit_entry(faq_id: StoreId, body: FaqInput = Depends(valid_input),
                     admin: AgentClaims = Depends(current_admin),
                     faq: FaqService = Depends(faq_service)) -> dict[str, Any]:
    with admin_errors():
        return await faq.update(faq_id, body, admin.agent_id)


@router.delete("/{faq_id}", status_code=204)
async def delete_entry(faq_id: StoreId, admin: AgentClaims = Depends(current_admin),
                       faq: FaqService = Depends(faq_service)) -> None:
    with admin_errors():
        await faq.delete(faq_id, admin.agent_id)


@router.get("/{faq_id}/revisions")
async def entry_revisions(faq_id: StoreId, faq: FaqService = Depends(faq_service)) -> list[dict[str, Any]]:
    with admin_errors():
        return await faq.revisions(faq_id)


@router.post("/{faq_id}/restore/{revision_id}")
async def restore_entry(faq_id: StoreId, revision_id: StoreId, to: str = Query("after", pattern="^(after|before)$"),
                        admin: AgentClaims = Depends(current_admin),
                        faq: FaqService = Depends(faq_service)) -> dict[str, Any]:
    """The entry becomes the version that revision left (`to=before`: the version it replaced)."""
    with admin_errors():
        return await faq.restore(faq_id, revision_id, admin.agent_id, to)
