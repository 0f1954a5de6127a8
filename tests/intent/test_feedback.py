"""Agent corrections are stored in labelled_feedback and become training rows of the next training."""

from __future__ import annotations

from dataclasses import replace

import pytest
from sqlalchemy.orm import Session

from assistant.intent.feedback import load_feedback, record_feedback
from assistant.intent.training import QUICK_PLAN, build_splits
from assistant.store.database import make_engine, upgrade_schema


@pytest.fixture()
def sqlite_url(tmp_path) -> str:
    url = f"sqlite:///{tmp_path / 'shop.db'}"
    upgrade_schema(url)
    return url


def test_a_feedback_row_changes_the_training_set(sqlite_url, data_dir):
    engine = make_engine(sqlite_url)
    with Session(engine) as session:
        record_feedback(session, "my stuff never showed up, where is it", "track_order")
        session.commit()
    engine.dispose()
    feedback = load_feedback(sqlite_url)
    assert feedback == [("my stuff never showed up, where is it", "track_order")]

    plan = replace(QUICK_PLAN, max_per_intent=4)
    with_feedback = build_splits(data_dir, plan, feedback, seed=13)
    without = build_splits(data_dir, plan, (), seed=13)
    added = {e.text for e in with_feedback.everything} - {e.text for e in without.everything}
    assert added == {"my stuff never showed up, where is it"}
    assert any(e.source == "feedback" for e in with_feedback.calibration_train)


def test_unknown_intents_are_refused(sqlite_url):
    engine = make_engine(sqlite_url)
    with Session(engine) as session, pytest.raises(ValueError):
        record_feedback(session, "hello", "no_such_intent")
    engine.dispose()
