"""MLflow: where runs are tracked, the pyfunc model that carries the whole bundle, the registry.

The logged model is one ``mlflow.pyfunc`` model holding the fitted feature pipeline and every
booster (the joblib bundle is its artifact; ``features/`` and ``training/`` travel as its code),
so ``mlflow.pyfunc.load_model`` and ``mlflow models serve`` score raw claims exactly as
``claimrisk serve`` does.

Its input is the *flat* claim shape, one row per claim line with the claim's header columns
repeated (what a billing-system extract looks like): pyfunc inputs are single tables.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path
from typing import Any

import mlflow
import numpy as np
import pandas as pd
from mlflow.models import infer_signature
from mlflow.tracking import MlflowClient

import features
import training
from features.contract import CLAIM_LINES, CLAIMS
from training.bundle import check_versions
from training.model import BUNDLE_FILE, ClaimriskModel
from training.scoring import flat_scores, score_claims

REGISTERED_NAME = "claimrisk"
CHAMPION = "champion"
DEFAULT_EXPERIMENT = "claimrisk"
#: Local SQLite store under the project: no server needed, registry included.
DEFAULT_STORE = Path("mlruns")

HEADER_COLUMNS = tuple(f.name for f in CLAIMS.fields)
LINE_COLUMNS = tuple(f.name for f in CLAIM_LINES.fields if f.name != "claim_id")


def default_tracking_uri(root: Path = DEFAULT_STORE) -> str:
    """``MLFLOW_TRACKING_URI`` when set (MLflow's own convention), else the project's SQLite."""
    return os.environ.get("MLFLOW_TRACKING_URI") or f"sqlite:///{(root / 'mlflow.db').resolve()}"


def use_store(tracking_uri: str | None, experiment: str = DEFAULT_EXPERIMENT) -> str:
    """Point MLflow at ``tracking_uri`` (default: the project's SQLite store) and experiment.

    With a SQLite store, artifacts go next to the database (``<folder>/artifacts``) instead of
    wherever the current directory happens to be; a server decides for itself.
    """
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    uri = tracking_uri or default_tracking_uri()
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
    if mlflow.get_experiment_by_name(experiment) is None:
        location = None
        if uri.startswith("sqlite:///"):
            folder = Path(uri.removeprefix("sqlite:///")).parent
            folder.mkdir(parents=True, exist_ok=True)
            location = (folder / "artifacts").resolve().as_uri()
        mlflow.create_experiment(experiment, artifact_location=location)
    mlflow.set_experiment(experiment)
    return uri


# -- the flat claim shape ------------------------------------------------------------------------


def flatten(claims: pd.DataFrame, lines: pd.DataFrame) -> pd.DataFrame:
    """Claims + lines → one row per line with its header columns (the pyfunc input)."""
    return lines.merge(claims, on="claim_id", how="left")[[*HEADER_COLUMNS, *LINE_COLUMNS]]


def json_shaped(frame: pd.DataFrame) -> pd.DataFrame:
    """Dates as ISO strings and plain object columns: what a JSON client sends."""
    out = frame.copy()
    for c in out.columns:
        if pd.api.types.is_datetime64_any_dtype(out[c]):
            out[c] = out[c].dt.strftime("%Y-%m-%d")
        out[c] = out[c].astype(object).where(out[c].notna(), None)
    return out


def unflatten(frame: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The flat claim shape back to claims (first row per claim) and lines; every row kept.

    A row whose claim_id is empty stays a line of no claim, so validation names it (orphan)
    instead of the claim being scored on fewer lines.
    """
    missing = [c for c in ("claim_id", "line_number") if c not in frame]
    if missing:
        raise ValueError(
            f"input is missing columns {missing}: send one row per claim line with the claim's "
            f"header columns ({', '.join(HEADER_COLUMNS[:4])}, ...) repeated on each line"
        )
    frame = frame.reset_index(drop=True)
    claims = frame[[c for c in HEADER_COLUMNS if c in frame]]
    claims = claims[claims["claim_id"].notna()].drop_duplicates("claim_id")
    lines = frame[["claim_id", *[c for c in LINE_COLUMNS if c in frame]]]
    return claims.reset_index(drop=True), lines


def score_flat(model: ClaimriskModel, frame: pd.DataFrame, explain: str = "none") -> pd.DataFrame:
    """The flat claim shape through the one scoring path → one flat row per claim."""
    claims, lines = unflatten(json_shaped(frame))
    scored = score_claims(model, claims, lines, explain)  # type: ignore[arg-type]
    order = [c for c in frame["claim_id"].tolist() if isinstance(c, str) and c]
    return flat_scores(scored, order)


class ClaimriskPyfunc(mlflow.pyfunc.PythonModel):
    """Scores flat claim rows: one output row per claim, the API's fields flattened
    (``training.scoring.FLAT_COLUMNS``); rejected claims carry their problems, never vanish.
    ``params={"explain": "all"|"flagged"|"none"}``."""

    def load_context(self, context: Any) -> None:
        model = ClaimriskModel.load(Path(context.artifacts["bundle"]))
        check_versions(model, "the registered model")
        self.model = model

    def predict(
        self, context: Any, model_input: pd.DataFrame, params: dict | None = None
    ) -> pd.DataFrame:
        return score_flat(self.model, model_input, (params or {}).get("explain", "none"))


def log_model(model: ClaimriskModel, bundle: Path, example: pd.DataFrame) -> str:
    """Log the bundle as the run's pyfunc model; returns its ``runs:/`` URI."""
    output = score_flat(model, example)
    with warnings.catch_warnings():  # the integer-column hint: our ints are required fields
        warnings.simplefilter("ignore", UserWarning)
        signature = infer_signature(example, output, params={"explain": "none"})
    info = mlflow.pyfunc.log_model(
        name="model",
        python_model=str(Path(__file__).with_name("pyfunc_entry.py")),
        artifacts={"bundle": str(bundle / BUNDLE_FILE)},
        code_paths=[str(Path(features.__file__).parent), str(Path(training.__file__).parent)],
        signature=signature,
        input_example=example,
        pip_requirements=_requirements(),
    )
    return info.model_uri


def _requirements() -> list[str]:
    from importlib.metadata import version

    names = ("numpy", "pandas", "pyarrow", "scikit-learn", "lightgbm", "joblib", "mlflow")
    return [f"{n}=={version(n)}" for n in names]


def load_registered(uri: str) -> ClaimriskModel:
    """A ``models:/`` or ``runs:/`` URI → the bundle inside its pyfunc."""
    return mlflow.pyfunc.load_model(uri).unwrap_python_model().model


def champion_version(client: MlflowClient) -> Any | None:
    try:
        return client.get_model_version_by_alias(REGISTERED_NAME, CHAMPION)
    except mlflow.exceptions.MlflowException:
        return None


def register(model_uri: str) -> Any:
    return mlflow.register_model(model_uri, REGISTERED_NAME)


def as_metrics(values: dict[str, float]) -> dict[str, float]:
    """MLflow metric names allow dots; drop NaN (undefined on a thin slice)."""
    return {k: float(v) for k, v in values.items() if v is not None and np.isfinite(v)}
