"""The Dask engine on a real LocalCluster of 3 worker processes that spill: the same matrix as the
single-frame path, claim by claim, and no future outcome leaking into it."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from features.cluster import ClusterSpec, connect, spilled_bytes
from features.distributed import DaskRunner, build_features
from features.monthly import read_matrix
from features.partitions import write_partitioned
from features.pipeline import build_training_matrix
from tests.test_monthly import assert_same_rows
from tests.test_pipeline import _rewrite_future
from training.boosters import EARLY_STOPPING

pytest.importorskip("distributed")


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    # 0.1 % of a worker's memory (1 MiB) for results before they spill: every worker writes to
    # disk (at 1 % the int32 event tables of the small world fitted in memory and nothing spilled)
    spec = ClusterSpec(
        workers=3,
        memory_limit="1GiB",
        spill_dir=tmp_path_factory.mktemp("spill"),
        spill_at=0.001,
    )
    with connect(spec) as client:
        yield client


def _on_dask(client, tables, tmp_path, truth=None):
    write_partitioned(tables, tmp_path / "data", truth)
    pipeline, rows = build_features(client, tmp_path / "data", tmp_path / "out")
    assert rows == len(tables["claims"])
    return read_matrix(tmp_path / "out"), pipeline


def _round_trip(matrix: pd.DataFrame, tmp_path) -> pd.DataFrame:
    """The matrix as the engine's Parquet files hold it (dates come back in milliseconds)."""
    matrix.to_parquet(tmp_path / "whole.parquet", index=False)
    return pd.read_parquet(tmp_path / "whole.parquet")


def test_the_dask_matrix_equals_the_pandas_matrix(client, small_world, tmp_path):
    tables, truth = small_world
    whole, whole_pipeline = build_training_matrix(tables)
    matrix, pipeline = _on_dask(client, tables, tmp_path, truth)
    assert_same_rows(_round_trip(whole, tmp_path), matrix)
    assert spilled_bytes(client) > 0  # the workers' limits made them spill
    claims = tables["claims"].tail(200)
    claims = claims.assign(submission_date=pipeline.cutoff_ + pd.Timedelta(days=1))
    lines = tables["claim_lines"][tables["claim_lines"]["claim_id"].isin(claims["claim_id"])]
    np.testing.assert_array_equal(
        pipeline.transform_matrix(claims, lines, tables["eligibility"]),
        whole_pipeline.transform_matrix(claims, lines, tables["eligibility"]),
    )


def test_no_future_outcome_leaks_on_dask(client, small_world, tmp_path):
    tables, _ = small_world
    base, pipeline = _on_dask(client, tables, tmp_path / "base")
    names = list(pipeline.feature_names)
    cut = tables["claims"]["submission_date"].quantile(0.6).normalize()
    rewritten, _ = _on_dask(
        client, _rewrite_future(tables, cut, np.random.default_rng(2)), tmp_path / "new"
    )
    before = base["submission_date"] <= cut
    pd.testing.assert_frame_equal(rewritten.loc[before, names], base.loc[before, names])
    changed = rewritten.loc[~before, "hist_payer_rate"] != base.loc[~before, "hist_payer_rate"]
    assert changed.any()


def test_a_month_that_breaks_the_contract_is_named(client, small_world, tmp_path):
    tables = {k: v.copy() for k, v in small_world[0].items()}
    tables["claims"].loc[10, "total_charge"] = -5.0
    month = f"{tables['claims'].loc[10, 'submission_date']:%Y-%m}"
    write_partitioned(tables, tmp_path / "data")
    with pytest.raises(Exception, match=f"months/{month}/claims.parquet"):
        build_features(client, tmp_path / "data", tmp_path / "out")


def test_train_and_score_on_dask(client, small_world, small_dataset_dir, trained, tmp_path):
    """A bundle trained on the cluster: loads from the store like any other, ranks like the
    single-machine model on the same claims, and its batch scores are the offline scorer's."""
    from features.partitions import FolderMonths
    from serving.batch import score_months
    from serving.offline import score_file
    from serving.state import load
    from training.run import train

    tables, truth = small_world
    here, store = trained
    write_partitioned(tables, tmp_path / "months", truth)
    said: list[str] = []
    on_dask = train(
        tmp_path / "months", tmp_path / "dask", store, echo=said.append, client=client, rounds=1000
    )
    assert on_dask.model.metadata["engine"]["name"] == "dask"
    for model in ("denial", "category"):  # boosting stopped a batch after EARLY_STOPPING trees
        (best, grown), *_ = [
            map(int, re.findall(r"at (\d+) of (\d+)", m)[0])
            for m in said
            if f"] {model}: best" in m
        ]
        assert best + EARLY_STOPPING <= grown <= best + 2 * EARLY_STOPPING and grown < 1000
        assert getattr(on_dask.model, model).current_iteration() == best
    # ~1,000 report-window claims give an AUC a standard error of ~0.015, and below SMALL_ROWS the
    # local path chooses among models on cross-validation; the 0.002 parity bar is bench.scale's
    auc = on_dask.metrics["denial.roc_auc"]
    assert auc > 0.75 and abs(auc - here.metrics["denial.roc_auc"]) < 0.04
    loaded = load(str(tmp_path / "dask"), store)
    done = score_months(
        loaded.model,
        FolderMonths(tmp_path / "months"),
        tmp_path / "scores",
        loaded.version,
        DaskRunner(client),
    )
    assert sum(d.scored for d in done) == len(tables["claims"])
    batch = read_matrix(tmp_path / "scores").set_index("claim_id")
    score_file(
        str(tmp_path / "dask"), small_dataset_dir, tmp_path / "offline.parquet", tracking_uri=store
    )
    offline = pd.read_parquet(tmp_path / "offline.parquet").set_index("claim_id")
    np.testing.assert_allclose(
        batch.loc[offline.index, "denial_probability"], offline["denial_probability"], rtol=1e-12
    )
