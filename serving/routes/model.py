"""``GET /v1/model`` and the admin reload.

Reload is the one endpoint that changes what the server runs, so it is the narrowest: it exists
only when admin keys are configured (``routes.model.admin``), takes a registry URI or a bundle
name (``serving.state.resolve``), never a path, never echoes what it read, and logs every attempt
with the key's fingerprint, the target and the outcome.
"""

from __future__ import annotations

import logging

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool

from serving.deps import AdminKey, AppMetrics, AppSettings, CurrentModel, ScoringKey, Slot
from serving.errors import ModelRefused
from serving.lane import restart_lane
from serving.schemas import ModelInfo, ReloadRequest, ReloadResponse
from serving.state import resolve

log = logging.getLogger("claimrisk.serving")
router = APIRouter()
admin = APIRouter()


@router.get(
    "/v1/model", response_model=ModelInfo, dependencies=[ScoringKey], summary="The loaded model"
)
def model_info(loaded: CurrentModel) -> ModelInfo:
    model, meta = loaded.model, loaded.model.metadata
    headline = {
        k: float(v)
        for k, v in meta.get("metrics", {}).items()
        if k.count(".") == 1 and not k.endswith(("rows", "_dollars_at_20pct")) and v == v
    }
    return ModelInfo(
        version=loaded.version,
        reference=loaded.reference,
        loaded_at=loaded.loaded_at,
        trained_at=meta.get("trained_at"),
        training_windows=meta.get("windows"),
        history_cutoff=meta.get("history_cutoff"),
        history_as_of=f"{model.pipeline.cutoff_:%Y-%m-%d}",
        metrics=headline,
        thresholds=model.thresholds,
        calibration={k: v["chosen"] for k, v in meta.get("calibration", {}).items()},
        library_versions=meta.get("versions", {}),
        features=list(meta.get("feature_names", [])),
        custom_features=dict(model.pipeline.custom_features),
        denial_model=(meta.get("denial_model") or {}).get("why"),
    )


@admin.post(
    "/v1/admin/reload",
    response_model=ReloadResponse,
    summary="Load a new model without dropping requests; a failed load keeps the old one",
)
async def reload(
    request: Request,
    key: AdminKey,
    slot: Slot,
    settings: AppSettings,
    metrics: AppMetrics,
    body: ReloadRequest | None = None,
) -> ReloadResponse:
    target = (body.model if body else None) or settings.model
    previous = slot.current.version if slot.current else "none"
    try:
        reference = target if target == settings.model else resolve(target, settings.models_dir)
        loaded = await run_in_threadpool(slot.reload, reference)
    except ModelRefused:
        _audit(key, target, "refused")
        metrics.reloads.labels(outcome="refused").inc()
        raise
    except Exception as exc:  # keep serving the old model; say why without echoing contents
        _audit(key, target, f"failed ({type(exc).__name__})")
        metrics.reloads.labels(outcome="failed").inc()
        raise ModelRefused(
            f"could not load {target}: {type(exc).__name__}; the previous model keeps serving. "
            "The server log has the reason.",
            serving=previous,
        ) from None
    _audit(key, target, f"loaded {loaded.version}")
    restart_lane(request.app)
    history = getattr(request.app.state, "history", None)
    if history is not None:  # the new bundle's snapshot is its training one: bring it current
        history.seen_load = -1
        await run_in_threadpool(history.refresh, slot)
    metrics.reloads.labels(outcome="loaded").inc()
    metrics.set_model(loaded.version)
    return ReloadResponse(previous=previous, serving=loaded.version)


def _audit(key: str, target: str, outcome: str) -> None:
    log.info("reload by key %s of %r: %s", key, target[:200], outcome)
