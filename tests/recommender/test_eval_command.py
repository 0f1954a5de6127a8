"""`shopassist eval-recs` and `holdout-valid` on a small synthetic data set."""

import json

from typer.testing import CliRunner

from assistant.cli import app
from recommender.data import read_interactions, read_next_item_rows
from tests.recommender.conftest import write_dataset_folder

SUMMARY_KEYS = {"n", "hr@5", "ndcg@5", "hr@10", "ndcg@10", "hr@20", "ndcg@20", "hr@10_ci95", "ndcg@10_ci95",
                "train_s", "p50_ms"}


def test_holdout_copy_drops_the_valid_pairs_and_keeps_only_earlier_rows(tmp_path):
    rows = write_dataset_folder(tmp_path / "shop", n_users=40)
    result = CliRunner().invoke(app, ["holdout-valid", str(tmp_path / "shop"), str(tmp_path / "copy")])
    assert result.exit_code == 0, result.output
    kept = read_interactions(tmp_path / "copy" / "interactions.csv")
    kept_pairs = {(kept.user_keys[u], i) for u, i in zip(kept.users.tolist(), kept.items.tolist(), strict=True)}
    assert not kept_pairs & set(zip(rows.user_keys, rows.targets.tolist(), strict=True))
    earlier = read_next_item_rows(tmp_path / "copy" / "valid.csv")
    assert all((key, target) in kept_pairs for key, target in zip(earlier.user_keys, earlier.targets.tolist(),
                                                                  strict=True))


def test_eval_recs_prints_every_variant_and_ends_with_one_json_object(tmp_path):
    write_dataset_folder(tmp_path / "shop", n_users=120)
    CliRunner().invoke(app, ["holdout-valid", str(tmp_path / "shop"), str(tmp_path / "copy")])
    result = CliRunner().invoke(app, ["eval-recs", "--dataset", str(tmp_path / "copy"), "--no-text",
                                      str(tmp_path / "shop" / "valid.csv")])
    assert result.exit_code == 0, result.output
    lines = result.output.strip().splitlines()
    summary = json.loads(lines[-1])
    assert set(summary) == SUMMARY_KEYS and summary["n"] == 120
    # the synthetic walks are deterministic: the fused model finds the next item at the top
    assert summary["hr@5"] > 0.9 and summary["hr@5"] <= summary["hr@10"] <= summary["hr@20"]
    low, high = summary["ndcg@10_ci95"]  # a 95 % bootstrap interval over the test rows
    assert low <= summary["ndcg@10"] <= high
    assert any(line.startswith("popularity") for line in lines)
    assert any(line.startswith("cf") for line in lines)
