"""ProductIndex: the catalogue's items in a Chroma collection, searched by text with price filters."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from retrieval.chroma_store import CollectionIndex

COLLECTION = "products"
DESCRIPTION_CHARS = 300  # MiniLM reads 256 tokens at most; the title and brand matter most


@dataclass(frozen=True)
class ProductDocument:
    item_id: int
    title: str
    description: str = ""
    brand: str = ""
    categories: str = ""
    price: float = 0.0
    stock: int = 0

    def text(self) -> str:
        parts = [self.title, f"by {self.brand}" if self.brand else "", self.categories,
                 self.description[:DESCRIPTION_CHARS]]
        return ". ".join(p for p in parts if p and p.strip())


@dataclass(frozen=True)
class ProductHit:
    item_id: int
    title: str
    price: float
    score: float


class ProductIndex(CollectionIndex):
    collection_name = COLLECTION

    def upsert(self, docs: Iterable[ProductDocument], batch_size: int = 256) -> None:
        docs = list(docs)
        for start in range(0, len(docs), batch_size):
            chunk = docs[start : start + batch_size]
            self._collection.upsert(
                ids=[str(d.item_id) for d in chunk],
                documents=[d.text() for d in chunk],
                metadatas=[{"title": d.title[:500], "price": float(d.price), "stock": int(d.stock)}
                           for d in chunk],
            )

    def search(self, query: str, k: int = 4, max_price: float | None = None,
               min_price: float | None = None, in_stock: bool = False) -> list[ProductHit]:
        where = _price_filter(max_price, min_price, in_stock)
        res = self._collection.query(  # an empty collection gives no hits (no count() round trip first)
            query_texts=[query], n_results=k, where=where, include=["metadatas", "distances"]
        )
        return [
            ProductHit(int(i), str(m["title"]), float(m["price"]), 1.0 - float(d))
            for i, m, d in zip(res["ids"][0], res["metadatas"][0], res["distances"][0], strict=True)
        ]


def _price_filter(max_price: float | None, min_price: float | None, in_stock: bool) -> dict | None:
    clauses: list[dict] = []
    if max_price is not None:
        clauses.append({"price": {"$lte": float(max_price)}})
    if min_price is not None:
        clauses.append({"price": {"$gte": float(min_price)}})
    if in_stock:
        clauses.append({"stock": {"$gt": 0}})
    if not clauses:
        return None
    return clauses[0] if len(clauses) == 1 else {"$and": clauses}
