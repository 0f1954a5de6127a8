"""Catalogue maintenance: an item added or edited over the admin API is found by the very next product
question; `shopassist import-catalogue DIR` loads a data-set folder, reindexes and retrains."""

from __future__ import annotations

import csv
import json
import uuid

from typer.testing import CliRunner

from assistant.cli import app as cli
from tests.admin.test_faq_roundtrip import ask

ASKED = "do you have a zebra-striped umbrella stand?"
N_ITEMS = 40  # of amazon_industrial, for import-catalogue


def card_for(reply: dict, item_id: int) -> dict | None:
    return next((card for card in reply["items"] if card["item_id"] == item_id), None)


async def test_a_new_item_and_its_new_price_are_in_the_next_answer(admin_api, admin_server):
    brand = f"Zebrafin{uuid.uuid4().hex[:4]}"
    made = admin_api.post("/api/admin/items", json={
        "title": f"{brand} zebra-striped umbrella stand", "brand": brand, "price": 12.49, "stock": 5,
        "description": "A black and white zebra-striped umbrella stand for the office entrance.",
        "categories": "Office Products > Office Furniture"})
    assert made.status_code == 201, made.text
    item_id = made.json()["id"]

    card = card_for(await ask(admin_server, ASKED), item_id)
    assert card is not None and card["price"] == 12.49

    edited = admin_api.put(f"/api/admin/items/{item_id}", json={"price": 7.99, "stock": 40})
    assert edited.status_code == 200 and edited.json()["title"].startswith(brand)
    card = card_for(await ask(admin_server, ASKED), item_id)
    assert card is not None and card["price"] == 7.99
    assert admin_api.get(f"/api/admin/items/{item_id}").json()["stock"] == 40

    # withdrawn from sale: no longer found nor suggested (on the old main it still was), and out of the
    # product index, so a search's pool is not spent on it (it stayed indexed, filtered at card look-up)
    assert admin_api.put(f"/api/admin/items/{item_id}", json={"active": False}).status_code == 200
    assert card_for(await ask(admin_server, ASKED), item_id) is None
    assert item_id not in indexed_products(admin_server)
    # on sale again: found again
    assert admin_api.put(f"/api/admin/items/{item_id}", json={"active": True}).status_code == 200
    assert item_id in indexed_products(admin_server)
    assert card_for(await ask(admin_server, ASKED), item_id) is not None


def indexed_products(server) -> set[int]:
    from retrieval.chroma_store import MiniLMEmbeddingFunction, make_chroma_client
    from retrieval.product_index import ProductIndex

    settings = server.settings
    return ProductIndex(make_chroma_client(settings.resolved_chroma_path, settings.chroma_url),
                        MiniLMEmbeddingFunction()).ids()


def test_invalid_item_changes_are_refused(admin_api):
    assert admin_api.post("/api/admin/items", json={"title": "x", "price": -1}).status_code == 422
    assert admin_api.post("/api/admin/items", json={"title": "", "price": 1}).status_code == 422
    assert admin_api.post("/api/admin/items", json={"id": 1, "title": "dup", "price": 1}).status_code == 409
    assert admin_api.put("/api/admin/items/99999999", json={"price": 1}).status_code == 404
    assert admin_api.put("/api/admin/items/1", json={"stock": -3}).status_code == 422


def small_catalogue(source, folder, n_items: int) -> None:
    """The first items of a real data set and the interactions with them, in the same format."""
    folder.mkdir()
    with (source / "items.jsonl").open() as f, (folder / "items.jsonl").open("w") as out:
        for line in f:
            if json.loads(line)["item_id"] < n_items:
                out.write(line)
    with (source / "interactions.csv").open() as f, (folder / "interactions.csv").open("w", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(["user_id", "item_id"])
        writer.writerows([r["user_id"], r["item_id"]] for r in csv.DictReader(f) if int(r["item_id"]) < n_items)


def test_import_catalogue_loads_items_and_behaviour_reindexes_and_retrains(admin_settings, tmp_path, monkeypatch):
    from assistant.config import get_settings
    from retrieval.chroma_store import MiniLMEmbeddingFunction, make_chroma_client
    from retrieval.product_index import ProductIndex

    folder = tmp_path / "industrial"
    small_catalogue(admin_settings.data_dir / "amazon_industrial", folder, n_items=N_ITEMS)
    state = tmp_path / "state"
    monkeypatch.setenv("SHOPASSIST_STATE_DIR", str(state))
    get_settings.cache_clear()
    try:
        done = CliRunner().invoke(cli, ["import-catalogue", str(folder)])
        assert done.exit_code == 0, done.output
        again = CliRunner().invoke(cli, ["import-catalogue", str(folder)])
        assert again.exit_code == 0 and "items +0" in again.output, again.output
        settings = get_settings()
    finally:
        get_settings.cache_clear()
    assert "catalogue imported" in done.output
    products = ProductIndex(make_chroma_client(settings.resolved_chroma_path), MiniLMEmbeddingFunction())
    assert products.ids() == set(range(N_ITEMS)) - missing_ids(folder)
    first_title = json.loads((folder / "items.jsonl").read_text().splitlines()[0])["title"]
    assert products.search(first_title, k=1)[0].title == first_title[:500]
    assert settings.recs_model_path.exists()


def missing_ids(folder) -> set[int]:
    present = {json.loads(line)["item_id"] for line in (folder / "items.jsonl").read_text().splitlines()}
    return set(range(N_ITEMS)) - present
