"""Admin routes of the catalogue: add an item, read it, change its price, stock or text (reindexed at once)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, HTTPException

from assistant.admin.catalogue import CatalogueService, ItemInput, ItemPatch
from assistant.api.admin_errors import admin_errors
from assistant.api.deps import StoreId, get_runtime
from assistant.cluster.announcements import ItemAdded, announce
from assistant.runtime import Runtime

router = APIRouter(prefix="/items", tags=["admin: catalogue"])


def catalogue_service(rt: Runtime = Depends(get_runtime)) -> CatalogueService:
    return CatalogueService(rt.sessions, rt.products, rt.recommender,
                            lambda item_id: announce(rt, ItemAdded(item_id=item_id)))


def _checked(body: ItemPatch, rt: Runtime) -> None:
    problems = body.problems(rt.settings)
    if problems:
        raise HTTPException(422, {"error": "the item is not valid", "problems": problems})


@router.post("", status_code=201)
async def add_item(body: ItemInput, rt: Runtime = Depends(get_runtime),
                   catalogue: CatalogueService = Depends(catalogue_service)) -> dict[str, Any]:
    _checked(body, rt)
    with admin_errors():
        return await catalogue.create(body)


@router.get("/{item_id}")
async def read_item(item_id: StoreId, catalogue: CatalogueService = Depends(catalogue_service)) -> dict[str, Any]:
    with admin_errors():
        return await catalogue.get(item_id)


@router.put("/{item_id}")
async def edit_item(item_id: StoreId, body: ItemPatch, rt: Runtime = Depends(get_runtime),
                    catalogue: CatalogueService = Depends(catalogue_service)) -> dict[str, Any]:
    _checked(body, rt)
    with admin_errors():
        return await catalogue.update(item_id, body)
