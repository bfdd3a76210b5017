"""Shared fixtures: a small generated world, built once per session and written once to disk."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from features.contract import TRUTH
from features.generate import WorldConfig, generate
from features.io import write_dataset

SMALL = WorldConfig(n_claims=6_000, seed=3)


@pytest.fixture(scope="session", autouse=True)
def _private_mlflow_store(tmp_path_factory):
    """No test may write to the project's own MLflow store: default to a temporary one."""
    root = tmp_path_factory.mktemp("default-mlflow")
    patch = pytest.MonkeyPatch()
    patch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{root / 'mlflow.db'}")
    yield
    patch.undo()


@pytest.fixture(scope="session")
def small_world() -> tuple[dict[str, pd.DataFrame], pd.DataFrame]:
    """(tables, truth) of a 6,000-claim world. Treat as read-only: copy before changing."""
    return generate(SMALL)


@pytest.fixture(scope="session")
def small_dataset_dir(small_world, tmp_path_factory) -> Path:
    """The small world written as Parquet, with its truth table."""
    tables, truth = small_world
    out = tmp_path_factory.mktemp("small_world")
    write_dataset(tables, out, "parquet", extra={"truth": (TRUTH, truth)})
    return out


@pytest.fixture
def tables(small_world) -> dict[str, pd.DataFrame]:
    """A private deep copy of the small world's tables, free to corrupt."""
    return {name: frame.copy(deep=True) for name, frame in small_world[0].items()}


@pytest.fixture(scope="session")
def trained(small_dataset_dir, tmp_path_factory):
    """(TrainResult, tracking URI): one real training run of the small world, logged to a
    temporary SQLite MLflow store. Treat the model as read-only."""
    from training.run import train

    root = tmp_path_factory.mktemp("mlflow")
    uri = f"sqlite:///{root / 'mlflow.db'}"
    result = train(
        small_dataset_dir, root / "models" / "small", tracking_uri=uri, echo=lambda _: None
    )
    return result, uri
