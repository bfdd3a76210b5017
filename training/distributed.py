"""Training on Dask: the denial and reason models on the cluster, everything else from a sample.

The two models that need every claim, denial (all remitted claims) and reason (all denials), are
fitted with ``lightgbm.dask`` on the months of the training matrix where they lie, each worker
reading its months itself. lightgbm.dask has no early stopping (lightgbm-org/LightGBM#3712), so a
fit grows its trees a batch at a time and stops as early stopping would (``fit_on_cluster``),
keeping the trees up to the best round of the validation window's loss. The small models (recovery,
amount), calibration, risk thresholds, the unknown-value donors and the report window's metrics
come from a sample of at most ``SAMPLE_ROWS`` claims per window, through the same
``training.train.fit_models`` the single-machine path runs; the bundle is the one the service loads.
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from features.contract import DENIAL_CATEGORIES
from features.pipeline import FeaturePipeline
from training.boosters import (
    DEFAULT_PARAMS,
    EARLY_STOPPING,
    MACHINE_SETTINGS,
    categorical_indices,
)
from training.data import Windows, category_codes, feature_matrix
from training.model import ClaimriskModel
from training.train import Fitted, Split, fit_models

#: Claims per window (train, validation, report) of the local sample.
SAMPLE_ROWS = 300_000
#: Trees a cluster fit boosts at most (it keeps the best round of the validation loss).
ROUNDS = 1000
_FAR_PAST = pd.Timestamp("1900-01-01")
#: The cluster's training blocks (see ``window_rows``).
BLOCK_DTYPE = np.float32


def month_files(matrix: Path) -> list[Path]:
    return sorted((matrix / "months").glob("*.parquet"))


def _target(frame: pd.DataFrame, model: str) -> tuple[np.ndarray, np.ndarray]:
    """Rows that teach ``model`` and their labels (denial: remitted; category: denied)."""
    if model == "denial":
        keep = frame["label_denied"].notna().to_numpy()
        return keep, frame["label_denied"].to_numpy(dtype=float)
    codes = category_codes(frame["label_category"])
    return (frame["label_denied"] == 1).to_numpy() & ~np.isnan(codes), codes


def window_rows(
    path: Path, inputs: tuple[tuple[str, ...], tuple[str, ...]], model: str, lo: Any, hi: Any
) -> tuple[np.ndarray, np.ndarray]:
    """(features, labels) of one month's rows submitted in [lo, hi) that teach ``model``;
    ``inputs``: the pipeline's feature names and categorical ones.

    Features are float32 (``BLOCK_DTYPE``): lightgbm.dask copies a worker's blocks into one
    array before binning, so at float64 the denial model's 7.9M rows of a 10M-claim matrix
    passed a 6 GiB worker's limit (measured 2026-12-07). Seven significant digits are far finer
    than a feature's 255 bins; the parity bar (bench.scale) checks the model."""
    frame = pd.read_parquet(path)
    keep, y = _target(frame, model)
    keep = keep & ((frame["submission_date"] >= lo) & (frame["submission_date"] < hi)).to_numpy()
    return feature_matrix(frame[keep], *inputs).astype(BLOCK_DTYPE), y[keep].astype(BLOCK_DTYPE)


@dataclass
class Blocks:
    """Rows of one window for one model, as futures of (x, y) per month that has any."""

    parts: list[Any]
    sizes: list[int]
    width: int

    @property
    def rows(self) -> int:
        return int(sum(self.sizes))

    def arrays(self) -> tuple[Any, Any]:
        """The blocks as Dask arrays (what lightgbm.dask trains on)."""
        import dask
        import dask.array as da

        take = dask.delayed(operator.getitem)
        pairs = list(zip(self.parts, self.sizes, strict=True))
        x = [da.from_delayed(take(p, 0), (n, self.width), BLOCK_DTYPE) for p, n in pairs]
        y = [da.from_delayed(take(p, 1), (n,), BLOCK_DTYPE) for p, n in pairs]
        return da.concatenate(x), da.concatenate(y)


def blocks(
    client: Any, files: list[Path], pipeline: FeaturePipeline, model: str, lo: Any, hi: Any
) -> Blocks:
    """``window_rows`` of every month, computed where they will be used."""
    inputs = (pipeline.feature_names, pipeline.categorical_features)
    parts = [client.submit(window_rows, f, inputs, model, lo, hi) for f in files]
    sizes = client.gather([client.submit(_size, p) for p in parts])
    kept = [(p, n) for p, n in zip(parts, sizes, strict=True) if n]
    if not kept:
        raise ValueError(f"no rows teach the {model} model between {lo:%Y-%m-%d} and {hi:%Y-%m-%d}")
    return Blocks([p for p, _ in kept], [n for _, n in kept], len(pipeline.feature_names))


def _size(part: tuple[np.ndarray, np.ndarray]) -> int:
    return len(part[1])


def fit_on_cluster(
    client: Any,
    params: dict[str, Any],
    train: Blocks,
    valid: Blocks,
    pipeline: FeaturePipeline,
    rounds: int,
    progress: Callable[[str], None],
    label: str,
) -> Any:
    """A booster boosted on the cluster and cut at its best round on the validation window.

    lightgbm.dask cannot stop early, so the trees grow ``EARLY_STOPPING`` at a time, each batch
    continuing the last (``init_model``), until the validation loss has not improved for
    ``EARLY_STOPPING`` trees or ``rounds`` are grown: the rule the local fits follow. The loss is
    summed here over every validation row (each block where it lives), not read from
    lightgbm.dask's ``evals_result_``, which holds one worker's share at most."""
    import lightgbm as lgb

    x, y = train.arrays()
    step = max(1, rounds // 200)
    booster, grown, best = None, 0, 0
    while grown < rounds and grown - best < EARLY_STOPPING:
        batch = min(EARLY_STOPPING, rounds - grown)
        booster = _grow(client, params, x, y, booster, batch, pipeline)
        best = best_round(client, booster, valid, step)
        if booster.current_iteration() < grown + batch:  # no split left to make: it has converged
            break
        grown = booster.current_iteration()
    progress(f"{label}: best validation loss at {best} of {booster.current_iteration()} trees")
    if best > rounds - EARLY_STOPPING:
        progress(f"{label}: the loss was still falling at {rounds} trees; try a larger --rounds")
    return lgb.Booster(model_str=booster.model_to_string(num_iteration=best))


def _grow(
    client: Any,
    params: dict[str, Any],
    x: Any,
    y: Any,
    booster: Any,
    trees: int,
    pipeline: FeaturePipeline,
) -> Any:
    """``booster`` (or nothing) and ``trees`` more, boosted on the cluster. Each batch draws its
    rows and features for bagging afresh (its seed is the trees grown so far)."""
    import lightgbm as lgb

    settings = {k: v for k, v in params.items() if k not in MACHINE_SETTINGS}
    grown = 0 if booster is None else booster.current_iteration()
    settings["seed"] = settings.get("seed", 0) + grown
    if settings["objective"] == "multiclass":  # labels are DENIAL_CATEGORIES' indices as given
        estimator = lgb.DaskLGBMRegressor(client=client, n_estimators=trees, **settings)
    else:
        estimator = lgb.DaskLGBMClassifier(client=client, n_estimators=trees, **settings)
    estimator.fit(
        x,
        y,
        init_model=booster,
        categorical_feature=categorical_indices(
            pipeline.feature_names, pipeline.categorical_features
        ),
        feature_name=list(pipeline.feature_names),
    )
    return estimator.to_local().booster_


def best_round(client: Any, booster: Any, valid: Blocks, step: int) -> int:
    """The round (a multiple of ``step``, or the last) with the lowest validation loss."""
    shared = client.scatter(booster.model_to_string(), broadcast=True)
    curves = client.gather([client.submit(loss_curve, shared, p, step) for p in valid.parts])
    return min((int(np.argmin(np.sum(curves, axis=0))) + 1) * step, booster.current_iteration())


def loss_curve(model: str, part: tuple[np.ndarray, np.ndarray], step: int) -> np.ndarray:
    """Summed log loss of one block after every ``step`` trees (the first after ``step``)."""
    import lightgbm as lgb

    booster = lgb.Booster(model_str=model)
    x, y = part
    rounds = booster.current_iteration()
    raw, losses = None, []
    for start in range(0, rounds, step):
        n = min(step, rounds - start)
        more = booster.predict(x, start_iteration=start, num_iteration=n, raw_score=True)
        raw = more if raw is None else raw + more
        losses.append(_log_loss(raw, y))
    return np.array(losses)


def _log_loss(raw: np.ndarray, y: np.ndarray) -> float:
    """Summed log loss from raw scores (binary: log odds; multiclass: one column per class)."""
    if raw.ndim == 1:
        return float(np.sum(np.logaddexp(0, raw) - y * raw))
    shifted = raw - raw.max(axis=1, keepdims=True)
    log_p = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    return float(-log_p[np.arange(len(y)), y.astype(int)].sum())


def _window_of(frame: pd.DataFrame, windows: Windows) -> np.ndarray:
    return windows.assign(frame["submission_date"])


def sample_month(
    path: Path, windows: Windows, keep_share: dict[str, float], seed: int
) -> pd.DataFrame:
    """A month's share of the local sample: each window's rows at ``keep_share`` of them."""
    frame = pd.read_parquet(path)
    share = pd.Series(_window_of(frame, windows)).map(keep_share).to_numpy(dtype=float)
    return frame[np.random.default_rng(seed).random(len(frame)) < share].reset_index(drop=True)


def window_counts(path: Path, windows: Windows) -> dict[str, int]:
    frame = pd.read_parquet(path, columns=["submission_date"])
    values, counts = np.unique(_window_of(frame, windows), return_counts=True)
    return dict(zip(values.tolist(), counts.tolist(), strict=True))


@dataclass
class ClusterTraining:
    """What a cluster fit gives ``training.run``: the bundle, and the sample it evaluates on."""

    model: ClaimriskModel
    sample: pd.DataFrame
    split: Split
    rows: int


def train_on_cluster(
    client: Any,
    matrix: Path,
    pipeline: FeaturePipeline,
    params: dict[str, dict[str, Any]] | None = None,
    rounds: int = ROUNDS,
    progress: Callable[[str], None] = lambda _: None,
) -> ClusterTraining:
    """Every model of a bundle from the matrix ``features.distributed`` wrote under ``matrix``."""
    params = {n: {**base, **(params or {}).get(n, {})} for n, base in DEFAULT_PARAMS.items()}
    files = month_files(matrix)
    dates = client.gather([client.submit(_date_range, f) for f in files])
    windows = Windows.from_dates(pd.Series([d for pair in dates for d in pair]))
    valid = (windows.valid_start, windows.report_start)
    boosters, rows = {}, {}
    for model in ("denial", "category"):
        train_xy = blocks(client, files, pipeline, model, _FAR_PAST, windows.valid_start)
        valid_xy = blocks(client, files, pipeline, model, *valid)
        rows[f"{model}_train"], rows[f"{model}_valid"] = train_xy.rows, valid_xy.rows
        progress(f"{model}: {train_xy.rows:,} train / {valid_xy.rows:,} validation rows")
        p = params[model]
        if model == "category":
            p = {**p, "num_class": len(DENIAL_CATEGORIES)}
        boosters[model] = fit_on_cluster(
            client, p, train_xy, valid_xy, pipeline, rounds, progress, model
        )
    counts = client.gather([client.submit(window_counts, f, windows) for f in files])
    totals = pd.DataFrame(counts).fillna(0).sum()
    share = {w: min(1.0, SAMPLE_ROWS / max(n, 1)) for w, n in totals.items()}
    parts = [client.submit(sample_month, f, windows, share, i) for i, f in enumerate(files)]
    sample = pd.concat(client.gather(parts), ignore_index=True)
    progress(f"calibrating and fitting recovery and amount on a sample of {len(sample):,} claims")
    engine = f"lightgbm.dask on {len(client.scheduler_info()['workers'])} workers"
    fitted = Fitted(boosters["denial"], boosters["category"], engine, rows)
    split = Split.of(sample, pipeline, windows)
    model, split = fit_models(sample, pipeline, params, progress, split, fitted)
    model.metadata["engine"] = {"name": "dask", "detail": engine, "sample_rows": len(sample)}
    return ClusterTraining(model, sample, split, int(totals.sum()))


def _date_range(path: Path) -> tuple[pd.Timestamp, pd.Timestamp]:
    dates = pd.read_parquet(path, columns=["submission_date"])["submission_date"]
    return dates.min(), dates.max()
