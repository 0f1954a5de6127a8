"""Training from the SQL store: orders and behaviour events become per-shopper sequences."""

from datetime import datetime, timedelta

import numpy as np
from sqlalchemy import create_engine, insert

from assistant.store import models
from assistant.store.database import upgrade_schema
from recommender.service import Recommender
from recommender.sql_source import read_catalogue, read_interactions
from tests.recommender.conftest import synthetic_sequences, synthetic_titles


def _fill_store(url: str) -> None:
    engine = create_engine(url)
    titles = synthetic_titles()
    start = datetime(2026, 11, 1)
    sequences = synthetic_sequences(60, seed=3)
    with engine.begin() as conn:
        conn.execute(insert(models.Item), [{"id": 100 + i, "title": t, "description": "", "brand": "acme",
                                            "categories": t.split()[1], "price": 2.0} for i, t in enumerate(titles)])
        conn.execute(insert(models.Customer), [{"id": f"c{u}", "name": f"c{u}"} for u in range(len(sequences))])
        for u, sequence in enumerate(sequences):
            first, *rest = sequence
            order = conn.execute(insert(models.Order).values(customer_id=f"c{u}", status="delivered",
                                                             created_at=start)).inserted_primary_key[0]
            conn.execute(insert(models.OrderLine).values(order_id=order, item_id=100 + first, unit_price=2.0))
            conn.execute(insert(models.BehaviourEvent), [
                {"customer_id": f"c{u}", "item_id": 100 + item, "kind": "click",
                 "at": start + timedelta(hours=step + 1)} for step, item in enumerate(rest)])


def test_catalogue_and_time_ordered_behaviour_are_read_from_the_store(tmp_path):
    url = f"sqlite:///{tmp_path / 'shop.db'}"
    upgrade_schema(url)
    _fill_store(url)
    catalogue = read_catalogue(url, description_chars=100)
    assert catalogue.ids[0] == 100 and catalogue.categories[0] == "pen"
    behaviour = read_interactions(url, {"click": 0.7, "purchase": 1.0})
    first_user = behaviour.items[behaviour.users == 0]
    assert (first_user[1:] - first_user[:-1] == 1).all()  # the walk's order survives
    assert np.allclose(sorted(set(behaviour.weights.tolist())), [0.7, 1.0])


def test_fit_from_sql_learns_the_store_behaviour(tmp_path, embed):
    url = f"sqlite:///{tmp_path / 'shop.db'}"
    upgrade_schema(url)
    _fill_store(url)
    model = Recommender.fit_from_sql(create_engine(url), embed)
    assert model.recommend([100, 101], k=1, exclude=[100, 101])[0].item_id == 102


def test_a_store_without_behaviour_still_gives_text_and_popularity_recommendations(tmp_path, embed):
    url = f"sqlite:///{tmp_path / 'shop.db'}"
    upgrade_schema(url)
    with create_engine(url).begin() as conn:
        conn.execute(insert(models.Item), [{"id": i, "title": t, "price": 1.0}
                                           for i, t in enumerate(synthetic_titles())])
    model = Recommender.fit_from_sql(url, embed)
    assert len(model.recommend([], k=3)) == 3
    assert synthetic_titles()[model.recommend([], context_text="green ink", k=1)[0].item_id] == "green ink"
