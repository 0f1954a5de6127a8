"""Catalogue maintenance: single items edited over the API (reindexed at once) and whole-folder imports.

An item change goes to SQL and the product collection together, like the FAQ's: the row is flushed,
the collection written, then the transaction commits; a failure on either side leaves both as they
were. `import_catalogue` loads a data-set folder (items.jsonl + interactions.csv, the format of
`../shared/data/amazon_office/`), reindexes every product and retrains the recommender.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field
from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlalchemy.orm import Session

from assistant.admin.faq_service import IndexWriteFailed, StoreWriteFailed
from assistant.agent.toolbox import Swappable
from assistant.config import Settings
from assistant.demo_shop import load_catalogue, load_customers_and_orders, read_items
from assistant.store.models import Item, utcnow
from retrieval.product_index import ProductDocument, ProductIndex

log = logging.getLogger(__name__)
EDITABLE = ("title", "description", "brand", "categories", "price", "stock", "active", "consumable")


class ItemNotFound(LookupError):
    """No item with that id."""


class ItemConflict(ValueError):
    """An item with that id exists already."""


class ItemPatch(BaseModel):
    """The fields an admin may change (price, stock, text, consumable); absent fields stay as they are."""

    title: str | None = Field(None, min_length=1)
    description: str | None = None
    brand: str | None = None
    categories: str | None = None
    price: float | None = Field(None, ge=0)
    stock: int | None = Field(None, ge=0)
    active: bool | None = Field(None, description="false withdraws the item from sale (no new events)")
    consumable: bool | None = Field(None, description="bought again and again: suggested even if bought lately")

    def problems(self, settings: Settings) -> list[dict[str, str]]:
        return [{"field": name, "error": f"{name} is over {settings.item_text_max_chars} characters"}
                for name in ("title", "description", "brand", "categories")
                if len(getattr(self, name) or "") > settings.item_text_max_chars]


class ItemInput(ItemPatch):
    """A new item: a title and a price are needed; the id is the next free one unless given."""

    id: int | None = Field(None, gt=0)
    title: str = Field(min_length=1)
    price: float = Field(ge=0)
    description: str = ""
    brand: str = ""
    categories: str = ""
    stock: int = Field(0, ge=0)
    active: bool = True
    consumable: bool = False


def item_view(item: Item) -> dict[str, Any]:
    return {"id": item.id, **{name: getattr(item, name) for name in EDITABLE},
            "updated_at": item.updated_at.isoformat() + "Z" if item.updated_at else None}


def product_document(item: Item) -> ProductDocument:
    return ProductDocument(item.id, item.title, item.description, item.brand, item.categories, item.price,
                           item.stock)


class CatalogueService:
    def __init__(self, sessions: async_sessionmaker, products: ProductIndex, recommender: Swappable,
                 announce_item: Callable[[int], Awaitable[None]] | None = None) -> None:
        self.sessions = sessions
        self.products = products
        self.recommender = recommender
        self.announce_item = announce_item  # tells the other workers of a new item

    async def get(self, item_id: int) -> dict[str, Any]:
        async with self.sessions() as db:
            item = await db.get(Item, item_id)
            if item is None:
                raise ItemNotFound(f"no item {item_id}")
            return item_view(item)

    async def create(self, data: ItemInput) -> dict[str, Any]:
        async with self.sessions() as db:
            if data.id is not None and await db.get(Item, data.id) is not None:
                raise ItemConflict(f"item {data.id} exists already; edit it with PUT")
            item_id = data.id or (await db.scalar(select(func.max(Item.id))) or 0) + 1
            item = Item(id=item_id, **data.model_dump(include=set(EDITABLE)))
            db.add(item)
            await db.flush()
            await self._commit(db, item, before=None)
            view = item_view(item)
        await teach_missing_items(self.sessions, self.recommender, [item.id])
        if self.announce_item is not None:
            await self.announce_item(item.id)
        return view

    async def update(self, item_id: int, patch: ItemPatch) -> dict[str, Any]:
        async with self.sessions() as db:
            item = await db.get(Item, item_id)
            if item is None:
                raise ItemNotFound(f"no item {item_id}")
            before = product_document(item) if item.active else None  # None: not in the product index
            for name, value in patch.model_dump(exclude_none=True).items():
                setattr(item, name, value)
            item.updated_at = utcnow()
            await db.flush()
            await self._commit(db, item, before)
            return item_view(item)

    async def _commit(self, db, item: Item, before: ProductDocument | None) -> None:
        """Index the item as it now is, then commit; the index is put back if either fails. The product
        index holds the items on sale only: a withdrawn item leaves it (a search's pool is not spent on
        items it may not show) and comes back when it is on sale again."""
        try:
            if item.active:
                await asyncio.to_thread(self.products.upsert, [product_document(item)])
            else:
                await asyncio.to_thread(self.products.delete, [item.id])
        except Exception as e:
            await db.rollback()
            await self._restore_index(item.id, before)
            raise IndexWriteFailed(f"the product index refused the change ({e}); nothing was saved") from e
        try:
            await db.commit()
        except SQLAlchemyError as e:
            await db.rollback()
            await self._restore_index(item.id, before)
            raise StoreWriteFailed("the item could not be stored; nothing was saved") from e

    async def _restore_index(self, item_id: int, before: ProductDocument | None) -> None:
        try:
            if before is None:
                await asyncio.to_thread(self.products.delete, [item_id])
            else:
                await asyncio.to_thread(self.products.upsert, [before])
        except Exception:
            log.exception("could not undo a product index change of item %s", item_id)



async def teach_missing_items(sessions: async_sessionmaker, recommender: Swappable,
                              item_ids: list[int] | None = None) -> int:
    """Teach the served recommender the store's items it does not know (all, or those of `item_ids`).

    A new item can then be suggested at once: the recommender places it by its text. Run after an item
    is added (on every worker) and after a model is loaded (items added since it was fitted).
    """
    model = recommender.current
    if model is None:
        return 0
    known = set(model.item_ids.tolist())
    async with sessions() as db:
        if item_ids is None:
            item_ids = list(await db.scalars(select(Item.id)))
        wanted = [i for i in item_ids if i not in known]
        missing = list(await db.scalars(select(Item).where(Item.id.in_(wanted)))) if wanted else []
    for item in missing:
        await asyncio.to_thread(model.add_item, item.id, product_document(item).text(), item.title, item.categories)
    return len(missing)


# ---- whole-folder import (the `shopassist import-catalogue DIR` command) ----
def update_item_texts(db: Session, folder: Path) -> int:
    """Take the folder's text (title, description, brand, categories) for items already in the store."""
    rows = {r["item_id"]: r for r in read_items(folder)}
    changed = 0
    for item in db.scalars(select(Item).where(Item.id.in_(list(rows)))):
        r = rows[item.id]
        text = {"title": r["title"] or f"Item {item.id}", "description": (r.get("description") or "").strip(),
                "brand": r.get("brand") or "", "categories": r.get("categories") or ""}
        if any(getattr(item, k) != v for k, v in text.items()):
            for k, v in text.items():
                setattr(item, k, v)
            changed += 1
    db.commit()
    return changed


def reindex_products(db: Session, products: ProductIndex) -> int:
    """Make the product collection hold exactly the store's items on sale, with their current text."""
    items = list(db.scalars(select(Item).where(Item.active.is_(True))))
    stale = products.ids() - {i.id for i in items}
    products.delete(stale)
    products.upsert([product_document(i) for i in items])
    return len(items)


def import_catalogue(settings: Settings, folder: Path, echo: Callable[[str], Any] = print) -> dict[str, int]:
    """Load items and behaviour from `folder`, reindex the products and retrain the recommender."""
    from assistant.admin.recs_retraining import fit_from_store
    from assistant.store.database import make_engine, session_factory, upgrade_schema
    from retrieval.chroma_store import MiniLMEmbeddingFunction, make_chroma_client

    for name in ("items.jsonl", "interactions.csv"):
        if not (folder / name).is_file():
            raise FileNotFoundError(f"{folder / name} is missing (the folder needs items.jsonl and interactions.csv)")
    url = settings.resolved_database_url
    upgrade_schema(url)
    engine = make_engine(url)
    try:
        with session_factory(engine)() as db:
            counts = {"items_added": load_catalogue(db, folder), "items_updated": update_item_texts(db, folder),
                      "customers_added": load_customers_and_orders(db, folder)}
            echo(f"items +{counts['items_added']} (~{counts['items_updated']} texts), "
                 f"customers +{counts['customers_added']}; reindexing products…")
            client = make_chroma_client(settings.resolved_chroma_path, settings.chroma_url)
            counts["products_indexed"] = reindex_products(db, ProductIndex(client, MiniLMEmbeddingFunction()))
        echo("retraining the recommender…")
        fit_from_store(settings, engine).save(settings.recs_model_path)
    finally:
        engine.dispose()
    echo(f"catalogue imported from {folder}: {counts}")
    return counts
