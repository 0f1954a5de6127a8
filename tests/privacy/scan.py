"""Look for strings everywhere the shop keeps data: every column of every SQL table, every Chroma collection."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import MetaData, select

from assistant.config import Settings
from assistant.store.database import make_engine
from retrieval.chroma_store import make_chroma_client


def _as_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def sql_cells_containing(settings: Settings, needles: list[str]) -> list[tuple[str, str, str]]:
    """(table, column, value) of every cell, in every table of the store, whose text holds one of `needles`."""
    engine = make_engine(settings.resolved_database_url)
    hits = []
    try:
        meta = MetaData()
        meta.reflect(bind=engine)
        with engine.connect() as conn:
            for table in meta.sorted_tables:
                for row in conn.execute(select(table)):
                    for column, value in row._mapping.items():
                        text = _as_text(value)
                        if any(n in text for n in needles):
                            hits.append((table.name, column, text[:200]))
    finally:
        engine.dispose()
    return hits


def chroma_entries_containing(settings: Settings, needles: list[str]) -> list[tuple[str, str]]:
    """(collection, document or metadata) of every Chroma entry holding one of `needles`."""
    client = make_chroma_client(settings.resolved_chroma_path, settings.chroma_url)
    hits = []
    for collection in client.list_collections():
        coll = client.get_collection(collection if isinstance(collection, str) else collection.name)
        got = coll.get(include=["documents", "metadatas"])
        for doc, meta in zip(got["documents"] or [], got["metadatas"] or [], strict=False):
            text = _as_text(doc) + _as_text(meta)
            if any(n in text for n in needles):
                hits.append((coll.name, text[:200]))
    return hits
