"""The product side of the dialogue: search, suggestions, and follow-ups on the items last shown
("the second one", "how much is it?", "a cheaper one", "in blue"). Out-of-stock items come last,
marked; items the shopper bought recently are not suggested again."""

from __future__ import annotations

import asyncio
import re
from typing import Any

from assistant.admin.ab_tests import DEFAULT_VARIANT, Assignment
from assistant.agent import replies
from assistant.agent.catalog import ItemInfo
from assistant.agent.dialogue import DialogueContext, ShownItem
from assistant.agent.followups import COLOURS, colour_in, pick_by_ordinal
from assistant.agent.product_query import parse_product_query
from assistant.agent.state import DialogueState
from assistant.privacy.consent import profile_inputs

SEARCH_POOL = 3  # search k x this, so out-of-stock and recently bought items can be dropped
COLOUR_POOL = 4  # and this many times more when only items of one colour are kept


def context_of(state: DialogueState) -> DialogueContext:
    return DialogueContext.of(state.get("dialogue"))


def card(item: ItemInfo, score: float, reason: str) -> dict[str, Any]:
    return {"item_id": item.item_id, "title": item.title, "price": item.price, "score": round(score, 4),
            "reason": reason, "stock": item.stock, "available": item.stock > 0}


def in_colour(title: str, colour: str) -> bool:
    """The item's title names the colour (grey and gray alike)."""
    names = ("grey", "gray") if colour in ("grey", "gray") else (colour,)
    return any(re.search(rf"\b{name}\b", title, re.I) for name in names)


def in_stock_first(cards: list[dict[str, Any]], k: int) -> list[dict[str, Any]]:
    """Available items first (their order kept), the others after them, marked; k at most."""
    return sorted(cards, key=lambda c: not c["available"])[:k]


class ProductDialogue:
    t: Any

    async def _excluded(self, state: DialogueState, days: int | None = None) -> set[int]:
        """Items the shopper (signed in, or this session) bought in the last `days` days, consumables aside."""
        days = self.t.settings.exclude_bought_days if days is None else days
        return await self.t.catalog.recently_bought(state.get("customer_id"), state.get("session_id"), days)

    async def _assignment(self, shopper_key: str) -> Assignment:
        """The serving settings of the shopper's suggestions: a running A/B test's variant, else the default."""
        if self.t.ab_tests is None:
            return Assignment(None, DEFAULT_VARIANT, self.t.settings.recs_serving)
        return await self.t.ab_tests.assignment(shopper_key)

    async def _search(self, state: DialogueState, query: str, max_price: float | None,
                      min_price: float | None, reason: str, colour: str | None = None) -> list[dict[str, Any]]:
        """Cards for a product search; with `colour`, only items whose title names that colour."""
        k = self.t.settings.product_top_k
        pool = k * SEARCH_POOL * (COLOUR_POOL if colour else 1)
        hits = await asyncio.to_thread(self.t.products.search, query, pool, max_price, min_price)
        info = await self.t.catalog.items([h.item_id for h in hits])  # the store's stock, not the index's
        skip = await self._excluded(state)
        cards = [card(info[h.item_id], h.score, reason) for h in hits if h.item_id in info and h.item_id not in skip
                 and (colour is None or in_colour(info[h.item_id].title, colour))]
        return in_stock_first(cards, k)

    def _shown(self, state: DialogueState, cards: list[dict[str, Any]], query: str | None) -> dict[str, Any]:
        ctx = context_of(state)
        ctx.items = [ShownItem(item_id=c["item_id"], title=c["title"], price=c["price"], stock=c.get("stock"))
                     for c in cards]
        ctx.item_id, ctx.query, ctx.focus = None, query, "items"
        return ctx.stored()

    async def products(self, state: DialogueState) -> DialogueState:
        q = parse_product_query(state["text"])
        cards = await self._search(state, q.text, q.max_price, q.min_price, f"matches \"{q.text}\"")
        if not cards:
            return {"reply": replies.NO_PRODUCTS}
        return {"reply": replies.PRODUCTS_FOUND.format(query=q.text), "items": cards,
                "dialogue": self._shown(state, cards, q.text)}

    async def recommend(self, state: DialogueState) -> DialogueState:
        base = self.t.recommender.current
        if base is None:
            return await self.products(state)
        # without the shopper's consent: no purchase history and no live profile, only this message
        customer, profile = profile_inputs(state.get("customer_id"), state["session_id"],
                                           state.get("activity_consent", True))
        assignment = await self._assignment(state.get("customer_id") or state["session_id"])  # sticky per shopper
        rec = self._served(base, assignment.settings)
        history = await self.t.catalog.purchased_items(customer) if customer else []
        skip = await self._excluded(state, assignment.settings.exclude_bought_days)
        k = self.t.settings.recs_k
        recs = await asyncio.to_thread(rec.recommend, history, state["text"], k * SEARCH_POOL, tuple(skip),
                                       profile)
        info = await self.t.catalog.items([r.item_id for r in recs])
        # a suggestion the shopper cannot buy now is no suggestion: out-of-stock items are left out
        cards = [card(info[r.item_id], float(r.score), r.reason) for r in recs
                 if r.item_id in info and info[r.item_id].stock > 0][:k]
        if not cards:
            return await self.products(state)
        return {"reply": replies.RECOMMENDED, "items": cards, "dialogue": self._shown(state, cards, None),
                "ab": {"test_id": assignment.test_id, "variant": assignment.variant}}

    async def item_detail(self, state: DialogueState) -> DialogueState:
        """"the second one", "how much is it?": one of the items last shown, with price and stock."""
        ctx = context_of(state)
        shown = pick_by_ordinal(state["text"], ctx.items) or ctx.focus_item()
        if shown is None:
            options = [{"label": i.title[:40], "value": f"the {_ORDINAL_WORDS[n]} one"}
                       for n, i in enumerate(ctx.items[:len(_ORDINAL_WORDS)])]
            return {"reply": replies.WHICH_ITEM, "options": options}
        info = (await self.t.catalog.items([shown.item_id])).get(shown.item_id)
        if info is None:
            return {"reply": replies.NO_PRODUCTS}
        availability = replies.IN_STOCK.format(stock=info.stock) if info.stock > 0 else replies.OUT_OF_STOCK
        ctx.item_id, ctx.focus = info.item_id, "items"
        return {"reply": replies.ITEM_DETAIL.format(title=info.title, price=info.price, availability=availability),
                "items": [card(info, 1.0, "the one you asked about")], "dialogue": ctx.stored()}

    async def refine_products(self, state: DialogueState) -> DialogueState:
        """"a cheaper one", "in blue": the last search again, narrowed."""
        ctx = context_of(state)
        base = ctx.query or (ctx.focus_item() or ctx.items[0]).title
        query, max_price, limit = base, None, ""
        # a colour asked now, or kept from the search narrowed before ("black pens", then "a cheaper one")
        colour = colour_in(state["text"]) or (colour_in(ctx.query) if ctx.query else None)
        if colour:
            query = f"{colour} {_without_colours(base)}".strip()
        if re.search(r"cheaper|less expensive|lower price|budget", state["text"], re.I):
            focus = ctx.focus_item()
            ceiling = focus.price if focus else min(i.price for i in ctx.items)
            max_price = round(ceiling - 0.01, 2)
            limit = f" under ${ceiling:.2f}"
        cards = await self._search(state, query, max_price, None, f"matches \"{query}\"", colour)
        if not cards:
            if max_price:
                return {"reply": replies.NO_CHEAPER.format(query=query)}
            return {"reply": replies.NO_COLOUR.format(query=_without_colours(base) or base, colour=colour)}
        return {"reply": replies.REFINED.format(query=query, limit=limit), "items": cards,
                "dialogue": self._shown(state, cards, query)}


_ORDINAL_WORDS = ("first", "second", "third", "fourth", "fifth")
_COLOUR_WORDS = re.compile(r"\b(?:" + "|".join(COLOURS) + r")\b", re.I)


def _without_colours(text: str) -> str:
    return " ".join(_COLOUR_WORDS.sub(" ", text).split())
