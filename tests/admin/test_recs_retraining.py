"""Recommender retraining from the admin API: a background fit on the store, swapped in live, profiles kept."""

from __future__ import annotations

import time

from sqlalchemy import select

from assistant.store.database import make_engine, session_factory
from assistant.store.models import Item
from recommender.service import Recommender
from tests.admin.conftest import runtime_of
from tests.admin.test_faq_roundtrip import ask


def wait_for_job(admin_api, job_id: int, timeout_s: float = 300) -> dict:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        job = admin_api.get(f"/api/admin/jobs/{job_id}").json()
        if job["status"] not in ("queued", "running"):
            return job
        time.sleep(0.5)
    raise AssertionError(f"job {job_id} did not finish")


async def test_retraining_swaps_the_recommender_live_and_keeps_shopper_profiles(admin_api, admin_server):
    rt = runtime_of(admin_server)
    before = rt.recommender.current
    engine = make_engine(admin_server.settings.resolved_database_url)
    with session_factory(engine)() as db:
        item_id = db.scalar(select(Item.id).order_by(Item.id).limit(1))
    engine.dispose()
    before.observe("profile-kept", item_id, "add_to_cart")

    started = admin_api.post("/api/admin/retrain-recs")
    assert started.status_code == 202, started.text
    assert admin_api.post("/api/admin/retrain-recs").status_code == 409  # one at a time
    reply = await ask(admin_server, "can you recommend something for my desk?")  # served while training
    assert reply["type"] == "reply"

    job = wait_for_job(admin_api, started.json()["id"])
    assert job["status"] == "accepted", job
    after = rt.recommender.current
    assert after is not before
    assert after.profiles.events("profile-kept") == before.profiles.events("profile-kept") != []
    # old main: the retrained model was saved and served with the default diversity 0
    served = admin_server.settings.recs_serving
    assert after.config.diversity == served.diversity == admin_server.settings.recs_diversity > 0
    saved = Recommender.load(admin_server.settings.recs_model_path, embed=None)
    assert saved.config.diversity == served.diversity  # saved as served, for `shopassist` tools reading it
    reply = await ask(admin_server, "can you recommend something for my desk?")
    assert reply["items"]
