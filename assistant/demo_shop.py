"""`shopassist setup`: builds the demo shop from a public catalogue (idempotent, with progress output).

Products come from `<data_dir>/<catalogue>/items.jsonl` with deterministic prices and stock; the
shoppers of its `interactions.csv` become customers and their purchases orders with plausible dates
and statuses; the FAQ corpus is the project's own data file; Chroma indexes and models are built
into the state dir when missing.
"""

from __future__ import annotations

import csv
import hashlib
import json
from collections import defaultdict
from datetime import datetime, timedelta
from pathlib import Path

from rich.console import Console
from rich.progress import track
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from assistant.config import Settings
from assistant.demo_faq import load_faq_corpus
from assistant.store.database import make_engine, session_factory, upgrade_schema
from assistant.store.models import (
    Customer,
    FaqEntry,
    Item,
    Order,
    OrderLine,
    OrderStatus,
    OrderStatusChange,
)

console = Console(stderr=True)

FIRST = ["Alex", "Sam", "Jordan", "Taylor", "Morgan", "Casey", "Riley", "Jamie", "Avery", "Quinn", "Robin",
         "Drew", "Maria", "Chen", "Fatima", "Lukas", "Aisha", "Mateo", "Yuki", "Olga", "Priya", "Tom"]
LAST = ["Smith", "Garcia", "Müller", "Kowalski", "Nguyen", "Okafor", "Rossi", "Johansson", "Patel", "Kim",
        "Dubois", "Silva", "Cohen", "Novak", "Brown", "Tanaka"]
# "today" of the demo shop, fixed so the data is the same on every machine
SHOP_TODAY = datetime(2026, 11, 20, 12, 0)


def _unit(key: str) -> float:
    """A stable number in [0, 1) from a string (the same on every run and machine)."""
    return int(hashlib.sha256(key.encode()).hexdigest()[:12], 16) / float(16**12)


def item_price(item_id: int) -> float:
    # log-uniform between $2 and $150, like an office-supplies shelf; ends in .49 or .99
    base = 2.0 * (75.0 ** _unit(f"price:{item_id}"))
    return round(int(base) + (0.49 if _unit(f"cents:{item_id}") < 0.4 else 0.99), 2)


def item_stock(item_id: int) -> int:
    u = _unit(f"stock:{item_id}")
    return 0 if u < 0.06 else int(3 + u * 200)


def customer_name(customer_id: str) -> str:
    return f"{FIRST[int(_unit('f' + customer_id) * len(FIRST))]} {LAST[int(_unit('l' + customer_id) * len(LAST))]}"


def read_items(folder: Path, limit: int | None = None) -> list[dict]:
    rows = []
    with (folder / "items.jsonl").open(encoding="utf-8") as f:
        for line in f:
            row = json.loads(line)
            if limit is not None and row["item_id"] >= limit:
                continue
            rows.append(row)
    return rows


def read_purchases(folder: Path, known_items: set[int]) -> dict[str, list[int]]:
    """Each shopper's purchases in the order they were made."""
    by_user: dict[str, list[int]] = defaultdict(list)
    with (folder / "interactions.csv").open(encoding="utf-8") as f:
        for row in csv.DictReader(f):
            item = int(row["item_id"])
            if item in known_items:
                by_user[row["user_id"]].append(item)
    return by_user


def plan_orders(customer_id: str, items: list[int]) -> list[tuple[datetime, str, list[int]]]:
    """Group purchases into orders of 1-3 items spread over the past months; the newest are still open."""
    orders: list[list[int]] = []
    i = 0
    while i < len(items):
        size = 1 + int(_unit(f"size:{customer_id}:{i}") * 3)
        orders.append(items[i : i + size])
        i += size
    planned = []
    for n, lines in enumerate(orders):
        age_days = (len(orders) - 1 - n) * (12 + int(_unit(f"gap:{customer_id}:{n}") * 40))
        age_days += int(_unit(f"age:{customer_id}") * 30)
        placed = SHOP_TODAY - timedelta(days=age_days, hours=int(_unit(f"h:{customer_id}:{n}") * 10))
        planned.append((placed, _status(customer_id, n, age_days), lines))
    return planned


def _status(customer_id: str, n: int, age_days: int) -> str:
    if _unit(f"cancel:{customer_id}:{n}") < 0.04:
        return OrderStatus.CANCELLED
    if age_days <= 2:
        return OrderStatus.PROCESSING
    if age_days <= 7:
        return OrderStatus.SHIPPED if _unit(f"ship:{customer_id}:{n}") < 0.7 else OrderStatus.PROCESSING
    return OrderStatus.DELIVERED


def _history(placed: datetime, status: str) -> list[tuple[str, datetime]]:
    steps = [(OrderStatus.PROCESSING.value, placed)]
    if status in (OrderStatus.SHIPPED, OrderStatus.DELIVERED):
        steps.append((OrderStatus.SHIPPED.value, placed + timedelta(days=1)))
    if status == OrderStatus.DELIVERED:
        steps.append((OrderStatus.DELIVERED.value, placed + timedelta(days=4)))
    if status == OrderStatus.CANCELLED:
        steps.append((OrderStatus.CANCELLED.value, placed + timedelta(hours=5)))
    return steps


def load_catalogue(db: Session, folder: Path, limit: int | None = None) -> int:
    """Insert the items not yet in the store; returns how many were added."""
    have = set(db.scalars(select(Item.id)))
    rows = [r for r in read_items(folder, limit) if r["item_id"] not in have]
    for r in track(rows, description="catalogue", console=console, disable=not rows):
        db.add(Item(id=r["item_id"], title=r["title"] or f"Item {r['item_id']}",
                    description=(r.get("description") or "").strip(), brand=r.get("brand") or "",
                    categories=r.get("categories") or "", price=item_price(r["item_id"]),
                    stock=item_stock(r["item_id"]), consumable=bool(r.get("consumable", False))))
    db.commit()
    return len(rows)


def load_customers_and_orders(db: Session, folder: Path) -> int:
    """Customers and their orders, for the shoppers not yet in the store; returns customers added."""
    have = set(db.scalars(select(Customer.id)))
    prices = {r.id: r.price for r in db.execute(select(Item.id, Item.price))}
    purchases = read_purchases(folder, set(prices))
    new = [c for c in purchases if c not in have]
    for cid in track(new, description="customers and orders", console=console, disable=not new):
        db.add(Customer(id=cid, name=customer_name(cid), email=f"{cid.lower()}@example.com"))
        for placed, status, lines in plan_orders(cid, purchases[cid]):
            steps = _history(placed, status)
            order = Order(customer_id=cid, status=status, created_at=placed, updated_at=steps[-1][1])
            order.lines = [OrderLine(item_id=i, quantity=1, unit_price=prices[i]) for i in lines]
            order.history = [OrderStatusChange(status=s, at=at) for s, at in steps]
            db.add(order)
    db.commit()
    return len(new)


def load_faq(db: Session) -> int:
    if db.scalar(select(func.count()).select_from(FaqEntry)):
        return 0
    seeds = load_faq_corpus()
    db.add_all([FaqEntry(question=s.question, answer=s.answer, intents=list(s.intents)) for s in seeds])
    db.commit()
    return len(seeds)


def index_collections(db: Session, settings: Settings) -> None:
    from retrieval.chroma_store import MiniLMEmbeddingFunction, make_chroma_client
    from retrieval.faq_index import FaqDocument, FaqIndex
    from retrieval.product_index import ProductDocument, ProductIndex

    client = make_chroma_client(settings.resolved_chroma_path, settings.chroma_url)
    ef = MiniLMEmbeddingFunction()
    faq = FaqIndex(client, ef)
    entries = list(db.scalars(select(FaqEntry)))
    faq.delete(faq.ids() - {e.id for e in entries})
    faq.upsert([FaqDocument(e.id, e.question, e.answer, tuple(e.intents or ())) for e in entries])
    products = ProductIndex(client, ef)
    items = list(db.scalars(select(Item)))
    if products.count() != len(items):
        console.print(f"indexing {len(items)} products (MiniLM embeddings)…")
        products.upsert([ProductDocument(i.id, i.title, i.description, i.brand, i.categories, i.price, i.stock)
                         for i in items])


def build_demo_shop(settings: Settings, quick_model: bool = False) -> None:
    settings.state_dir.mkdir(parents=True, exist_ok=True)
    url = settings.resolved_database_url
    console.print(f"[bold]schema[/bold] -> {url.split('@')[-1]}")
    upgrade_schema(url)
    folder = settings.data_dir / settings.catalogue
    if not (folder / "items.jsonl").exists():
        raise SystemExit(f"no catalogue at {folder}: set SHOPASSIST_DATA_DIR")
    engine = make_engine(url)
    with session_factory(engine)() as db:
        added = load_catalogue(db, folder, settings.demo_item_limit)
        customers = load_customers_and_orders(db, folder)
        faqs = load_faq(db)
        console.print(f"items +{added}, customers +{customers}, FAQ entries +{faqs}")
        index_collections(db, settings)
    build_models(settings, engine, quick_model)
    engine.dispose()
    console.print("[green]demo shop ready[/green]")


def build_models(settings: Settings, engine, quick_model: bool) -> None:
    from assistant.intent.training import ensure_intent_model

    ensure_intent_model(settings, quick=quick_model)
    if settings.query_encoder == "int8":
        from retrieval.query_encoder import ensure_query_encoder

        ensure_query_encoder(settings.state_dir)
    if not settings.recs_model_path.exists():
        from assistant.admin.recs_retraining import fit_from_store

        console.print("training the recommender…")
        fit_from_store(settings, engine).save(settings.recs_model_path)
