"""Loading a trained bundle: the only way a model gets into a process that scores.

Apart from the training jobs on purpose: the service imports this module, not ``training.run``,
so it never pulls in the training stack (matplotlib, report writers) just to load a model, and
imports MLflow only when it is asked for a registry URI.

Pickles are code. A bundle is loaded only from the operator's MLflow registry or from a folder
the operator chose (``models/NAME``); ``serving`` narrows that further for requests that arrive
over the network (``serving.state.resolve``). A bundle records the library versions it was
trained with, and one trained with other versions is refused with both named: a LightGBM or
scikit-learn upgrade can change what a fitted object means without an error.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from training.model import ClaimriskModel

#: The libraries whose objects live inside a bundle (or, for claimrisk, whose code reads them).
PINNED = ("claimrisk", "lightgbm", "scikit-learn", "pandas")
REGISTRY_SCHEMES = ("models:/", "runs:/")


class BundleError(ValueError):
    """A bundle that must not be served: missing, of the wrong kind, or from other libraries."""


def library_versions() -> dict[str, str]:
    """The installed versions of ``PINNED``, as a bundle records them."""
    out = {}
    for name in PINNED:
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            out[name] = "not installed"
    return out


def check_versions(model: ClaimriskModel, where: str) -> None:
    """Refuse a bundle whose recorded library versions differ from the installed ones."""
    recorded = model.metadata.get("versions")
    if not recorded:
        raise BundleError(
            f"{where} records no library versions (trained before claimrisk recorded them); "
            "retrain it with `claimrisk train`"
        )
    installed = library_versions()
    wrong = [
        f"{n} {recorded.get(n)} (installed: {installed[n]})"
        for n in PINNED
        if recorded.get(n) != installed[n]
    ]
    if wrong:
        raise BundleError(
            f"{where} was trained with other library versions: {'; '.join(wrong)}. Install the "
            "versions it was trained with (the lock file pins them), or retrain it here."
        )


def is_registry_uri(reference: str) -> bool:
    return reference.startswith(REGISTRY_SCHEMES)


def load_bundle(reference: str, tracking_uri: str | None = None) -> ClaimriskModel:
    """A bundle folder (or its ``model.joblib``) or an MLflow ``models:/``/``runs:/`` URI."""
    if is_registry_uri(reference):
        model = _from_registry(reference, tracking_uri)
    else:
        try:
            model = ClaimriskModel.load(Path(reference))
        except (FileNotFoundError, TypeError) as exc:
            raise BundleError(str(exc)) from None
    check_versions(model, reference)
    return model


def _from_registry(uri: str, tracking_uri: str | None) -> ClaimriskModel:
    import mlflow

    from training.tracking import default_tracking_uri, load_registered

    store = tracking_uri or default_tracking_uri()
    mlflow.set_tracking_uri(store)
    mlflow.set_registry_uri(store)
    try:
        return load_registered(uri)
    except (mlflow.exceptions.MlflowException, OSError) as exc:
        failure = exc
    try:  # a store that was moved or copied still holds its artifacts, at another path
        moved = relocated(uri, store)
    except mlflow.exceptions.MlflowException as exc:
        raise BundleError(f"{uri}: not found in the registry ({exc.error_code})") from None
    if moved is None:
        raise BundleError(
            f"{uri}: could not be loaded ({type(failure).__name__}), and its artifacts are not "
            "under this store's artifacts folder either; was the store copied without them?"
        ) from None
    return load_registered(str(moved))


def relocated(uri: str, store: str) -> Path | None:
    """Where a registered model's artifacts are now, when a SQLite store was moved or copied.

    The store records absolute artifact paths (``…/mlruns/artifacts/<experiment>/models/…``);
    after the folder moves (to another machine, or into a Docker image), the same tail under
    the moved store's own ``artifacts`` folder is where they are. None if not found there.
    """
    if not store.startswith("sqlite:///"):
        return None
    import mlflow

    client = mlflow.MlflowClient()
    name, _, selector = uri.removeprefix("models:/").partition("@")
    if selector:
        version = client.get_model_version_by_alias(name, selector)
    else:
        name, _, number = name.partition("/")
        version = client.get_model_version(name, number)
    source = version.source
    if source.startswith("models:/"):
        source = client.get_logged_model(source.removeprefix("models:/")).artifact_location
    recorded = source.removeprefix("file://")
    if "/artifacts/" not in recorded:
        return None
    tail = recorded.split("/artifacts/", 1)[1]
    candidate = Path(store.removeprefix("sqlite:///")).parent / "artifacts" / tail
    return candidate if candidate.exists() else None


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
