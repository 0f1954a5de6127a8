"""Admin routes of recommendation A/B tests: define one, follow its figures per variant, stop it (the winner
becomes the default serving settings)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, HTTPException
from pydantic import BaseModel, Field

from assistant.admin.ab_tests import AbTestConflict, AbTestNotFound, AbTests, AbTestSpec
from assistant.api.deps import get_runtime
from assistant.runtime import Runtime

router = APIRouter(prefix="/ab-tests", tags=["admin: A/B tests"])


class StopRequest(BaseModel):
    winner: str | None = Field(None, description="the variant whose settings become the default; none keeps it")


def ab_tests(rt: Runtime = Depends(get_runtime)) -> AbTests:
    return rt.toolbox.ab_tests


@router.get("")
async def list_tests(tests: AbTests = Depends(ab_tests)) -> dict[str, Any]:
    """Every test, newest first, and the serving settings used outside tests now."""
    return {"tests": await tests.list(), "default_settings": (await tests.default_settings()).to_dict()}


@router.post("", status_code=201)
async def start_test(spec: AbTestSpec, tests: AbTests = Depends(ab_tests)) -> dict[str, Any]:
    """Start a test (one at a time): shoppers are split by the variants' shares, each always in one variant."""
    try:
        return await tests.create(spec)
    except AbTestConflict as e:
        raise HTTPException(409, str(e)) from e


@router.get("/{test_id}")
async def read_test(test_id: int, tests: AbTests = Depends(ab_tests)) -> dict[str, Any]:
    """The test and, per variant: exposures, click-through, add-to-cart, conversion with 95 % intervals."""
    try:
        return await tests.view(test_id)
    except AbTestNotFound as e:
        raise HTTPException(404, str(e)) from e


@router.post("/{test_id}/stop")
async def stop_test(test_id: int, body: StopRequest, tests: AbTests = Depends(ab_tests)) -> dict[str, Any]:
    try:
        return await tests.stop(test_id, body.winner)
    except AbTestNotFound as e:
        raise HTTPException(404, str(e)) from e
    except AbTestConflict as e:
        raise HTTPException(409, str(e)) from e
