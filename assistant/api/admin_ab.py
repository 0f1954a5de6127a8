"""Admin routes of recommendation A/B tests: define one, follow its figures per variant, stop it (the winner
becomes the default serving settings)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field

from assistant.admin.ab_tests import AbTests, AbTestSpec
from assistant.api.admin_errors import admin_errors
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
    with admin_errors():
        return await tests.create(spec)


@router.get("/{test_id}")
async def read_test(test_id: int, tests: AbTests = Depends(ab_tests)) -> dict[str, Any]:
    """The test and, per variant: exposures, click-through, add-to-cart, conversion with 95 % intervals."""
    with admin_errors():
        return await tests.view(test_id)


@router.post("/{test_id}/stop")
async def stop_test(test_id: int, body: StopRequest, tests: AbTests = Depends(ab_tests)) -> dict[str, Any]:
    """Stop a running test; the winner's settings (if one is named) are served to everyone from now on."""
    with admin_errors():
        return await tests.stop(test_id, body.winner)
