"""The model the service answers with, and how it is swapped without dropping a request.

A request takes the current ``Loaded`` once and uses it to the end; a reload builds the new one
completely before replacing the reference (an atomic assignment), so requests in flight finish on
the old model and no request ever sees half of each. A load that fails leaves the old one serving.
"""

from __future__ import annotations

import gc
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from training.model import ClaimriskModel


@dataclass(frozen=True)
class Loaded:
    model: ClaimriskModel
    reference: str
    version: str
    loaded_at: str


def describe_version(reference: str, model: ClaimriskModel) -> str:
    """A version a human can match to MLflow: registry version, else run id, else trained_at."""
    if reference.startswith("models:/"):
        import mlflow

        name, _, selector = reference.removeprefix("models:/").partition("@")
        if selector:
            try:
                mv = mlflow.MlflowClient().get_model_version_by_alias(name, selector)
                return f"{name} v{mv.version} (@{selector})"
            except mlflow.exceptions.MlflowException:
                pass
        return reference
    meta = model.metadata
    run, trained = meta.get("run_id", "?"), meta.get("trained_at", "?")
    return f"{Path(reference).name} run {run} trained {trained}"


def load(reference: str, tracking_uri: str | None = None) -> Loaded:
    from training.run import load_model

    if reference.startswith(("models:/", "runs:/")):
        import mlflow

        from training.tracking import default_tracking_uri

        uri = tracking_uri or default_tracking_uri()
        mlflow.set_tracking_uri(uri)
        mlflow.set_registry_uri(uri)
    model = load_model(reference)
    # A bundle is millions of long-lived objects (code books of payers, providers, patients):
    # move them out of the garbage collector's sight, or every full collection walks them all
    # and a request waits ~100 ms behind it.
    gc.collect()
    gc.freeze()
    # A 1,000-claim request allocates ~10^5 short-lived objects; collect young objects less
    # often (still bounded) so that a request is not interrupted by several collections.
    gc.set_threshold(50_000, 20, 20)
    return Loaded(
        model,
        reference,
        describe_version(reference, model),
        time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    )


class ModelSlot:
    """Holds the current model; ``reload`` swaps it atomically or not at all."""

    def __init__(self, current: Loaded | None, tracking_uri: str | None = None) -> None:
        self.current = current
        self.tracking_uri = tracking_uri
        self._lock = threading.Lock()

    def reload(self, reference: str) -> Loaded:
        with self._lock:  # one reload at a time; scoring never waits on this lock
            loaded = load(reference, self.tracking_uri)
            self.current = loaded
            return loaded
