"""FaqIndex: the FAQ entries in a Chroma collection, searched by meaning (question and answer text)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from retrieval.chroma_store import CollectionIndex

COLLECTION = "faq"


@dataclass(frozen=True)
class FaqDocument:
    faq_id: int
    question: str
    answer: str
    intents: tuple[str, ...] = ()


@dataclass(frozen=True)
class FaqHit:
    faq_id: int
    question: str
    answer: str
    intents: tuple[str, ...]
    score: float  # cosine similarity, 1 = same meaning


class FaqIndex(CollectionIndex):
    collection_name = COLLECTION

    def upsert(self, docs: Iterable[FaqDocument]) -> None:
        docs = list(docs)
        if not docs:
            return
        self._collection.upsert(
            ids=[str(d.faq_id) for d in docs],
            # the question is what shoppers' messages resemble most; the answer adds the vocabulary
            documents=[f"{d.question}\n{d.answer}" for d in docs],
            metadatas=[
                {"question": d.question, "answer": d.answer, "intents": ",".join(d.intents)} for d in docs
            ],
        )

    def get(self, faq_id: int) -> FaqDocument | None:
        got = self._collection.get(ids=[str(faq_id)], include=["metadatas"])
        if not got["ids"]:
            return None
        return _document(faq_id, got["metadatas"][0])

    def search(self, query: str, k: int = 3, intent: str | None = None) -> list[FaqHit]:
        """Best entries for `query`; with `intent`, entries tagged with it are preferred."""
        # Chroma returns what there is when the collection holds fewer (none when it is empty): no count()
        # round trip first. Only a re-ranking by intent needs more than k (each hit carries its whole answer)
        res = self._collection.query(
            query_texts=[query], n_results=max(k * 4, 10) if intent else k, include=["metadatas", "distances"]
        )
        hits = [
            FaqHit(**vars(_document(int(i), meta)), score=1.0 - float(dist))
            for i, meta, dist in zip(res["ids"][0], res["metadatas"][0], res["distances"][0], strict=True)
        ]
        if intent:
            # an entry written for the classified intent wins over a merely similar one
            hits.sort(key=lambda h: h.score + (0.15 if intent in h.intents else 0.0), reverse=True)
        return hits[:k]


def _document(faq_id: int, meta: dict) -> FaqDocument:
    intents = tuple(t for t in str(meta.get("intents", "")).split(",") if t)
    return FaqDocument(faq_id, str(meta["question"]), str(meta["answer"]), intents)
