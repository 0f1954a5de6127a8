"""Admin routes of what shoppers and agents teach the bot: suggested FAQ entries from agents' answers
(accept as is, accept edited, reject) and the FAQ entries shoppers marked unhelpful."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Body, Depends, HTTPException

from assistant.admin.faq_service import FaqInput, FaqService
from assistant.admin.faq_suggestions import FaqSuggestions, SuggestionNotFound
from assistant.admin.feedback_stats import unhelpful_entries
from assistant.api.admin_errors import admin_errors
from assistant.api.deps import StoreId, current_admin, get_runtime
from assistant.runtime import Runtime
from assistant.security import AgentClaims

router = APIRouter(tags=["admin: learning"])


def suggestions(rt: Runtime = Depends(get_runtime)) -> FaqSuggestions:
    return FaqSuggestions(rt.sessions, FaqService(rt.sessions, rt.faq, rt.settings))


@router.get("/faq-suggestions")
async def pending_suggestions(s: FaqSuggestions = Depends(suggestions)) -> list[dict[str, Any]]:
    return await s.pending()


@router.post("/faq-suggestions/{suggestion_id}/accept", status_code=201)
async def accept_suggestion(suggestion_id: StoreId, edited: FaqInput | None = Body(None),
                            admin: AgentClaims = Depends(current_admin), rt: Runtime = Depends(get_runtime),
                            s: FaqSuggestions = Depends(suggestions)) -> dict[str, Any]:
    """Make the suggestion an FAQ entry (with the admin's edits, if any); it serves the next answer."""
    if edited is not None and (problems := edited.problems(rt.settings)):
        raise HTTPException(422, {"error": "the entry is not valid", "problems": problems})
    try:
        with admin_errors():
            return await s.accept(suggestion_id, edited, admin.agent_id)
    except SuggestionNotFound as e:
        raise HTTPException(404, str(e)) from e


@router.post("/faq-suggestions/{suggestion_id}/reject", status_code=204)
async def reject_suggestion(suggestion_id: StoreId, s: FaqSuggestions = Depends(suggestions)) -> None:
    try:
        await s.reject(suggestion_id)
    except SuggestionNotFound as e:
        raise HTTPException(404, str(e)) from e


@router.get("/faq-unhelpful")
async def unhelpful(rt: Runtime = Depends(get_runtime)) -> list[dict[str, Any]]:
    """FAQ entries shoppers voted down, most thumbs-down first."""
    async with rt.sessions() as db:
        return await unhelpful_entries(db, rt.settings.admin_page_size)
