"""The out-of-scope distance: far from every in-scope line means off-topic, with a threshold from in-scope rows."""

from __future__ import annotations

import numpy as np

from assistant.intent.in_scope_distance import InScopeDistance, fit_threshold


def test_distance_to_in_scope_lines_ignores_the_off_topic_rows_of_the_store():
    in_scope = np.array([[1.0, 0.0, 0.0], [0.9, 0.1, 0.0]])
    off_topic = np.array([[0.0, 0.0, 1.0]])
    store = np.vstack([in_scope, off_topic])
    distance = InScopeDistance.from_neighbours(store, np.array([0, 0, 9]), out_of_scope_id=9, k=1)
    near, far = distance.distances(np.array([[1.0, 0.05, 0.0], [0.0, 0.1, 1.0]]))
    assert near < 0.01 and far > 0.9  # an off-topic message close to a stored off-topic line is still far


def test_the_threshold_flags_at_most_the_given_share_of_in_scope_rows():
    distances = np.linspace(0.0, 1.0, 101)
    threshold = fit_threshold(distances, 0.05)
    assert (distances > threshold).mean() <= 0.05
