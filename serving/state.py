"""The model the service answers with: how it is loaded, checked, named and swapped.

A request takes the current ``Loaded`` once and uses it to the end; a reload builds the new one
completely before replacing the reference (an atomic assignment), so requests in flight finish on
the old model and no request ever sees half of each. A load that fails leaves the old one serving.

Before a bundle is accepted, at start-up and on reload, it must score the example claims through
the one scoring path: a bundle that loads but cannot score never replaces one that can.
"""

from __future__ import annotations

import gc
import logging
import re
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from serving.errors import ModelRefused
from serving.schemas import ScoreRequest, claim_columns
from training import examples
from training.bundle import BundleError, describe_version, is_registry_uri, load_bundle
from training.model import ClaimriskModel
from training.scoring import score_valid

log = logging.getLogger("claimrisk.serving")
#: What a reload over the network may name: a registry alias or version of ``claimrisk``, or a
#: bundle folder's bare name under the configured models directory. Never a path.
REGISTRY_TARGET = re.compile(r"models:/claimrisk(?:@[A-Za-z0-9_-]{1,64}|/\d{1,9})")
BUNDLE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")


@dataclass(frozen=True)
class Loaded:
    model: ClaimriskModel
    reference: str  # as the service shows it: a registry URI or a bundle name, never a path
    version: str
    loaded_at: str
    source: str = ""  # what was loaded (a path for bundles): for the batch lane, never shown


def smoke_test(model: ClaimriskModel) -> None:
    """Score the example claims, explained, through the one scoring path, or refuse the model."""
    request = ScoreRequest.model_validate(examples.SCORE_REQUEST)
    batch = claim_columns(request.claims)
    scores = score_valid(model, batch.header, batch.lines, "all", eligibility=batch.eligibility)
    p = scores[0]["denial_probability"]
    if not 0.0 <= p <= 1.0:
        raise BundleError(f"scored the example claim {p!r}, not a probability")


def load(reference: str, tracking_uri: str | None = None) -> Loaded:
    """Load, version-check and smoke-test a bundle. Every attempt is logged with its outcome."""
    try:
        model = load_bundle(reference, tracking_uri)
        smoke_test(model)
    except Exception as exc:
        log.warning("model load refused: %s (%s)", _shown(reference), type(exc).__name__)
        raise
    # A bundle is millions of long-lived objects (code books of payers, providers, patients):
    # move them out of the garbage collector's sight, or every full collection walks them all
    # and a request waits ~100 ms behind it.
    gc.collect()
    gc.freeze()
    # A 1,000-claim request allocates ~10^5 short-lived objects; collect young objects less
    # often (still bounded) so that a request is not interrupted by several collections.
    gc.set_threshold(50_000, 20, 20)
    loaded = Loaded(
        model,
        _shown(reference),
        describe_version(reference, model),
        time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        reference,
    )
    log.info("model loaded: %s (%s)", loaded.reference, loaded.version)
    return loaded


def _shown(reference: str) -> str:
    """A reference as the service shows it: registry URIs whole, bundles by name (no path)."""
    return reference if is_registry_uri(reference) else Path(reference).name


def resolve(target: str, models_dir: Path) -> str:
    """What a reload request may load: ``models:/claimrisk@alias``, ``models:/claimrisk/N``, or
    the name of a bundle folder directly under ``models_dir``. Anything else is refused without
    looking at the file system, so the answer never reveals whether a path exists."""
    if REGISTRY_TARGET.fullmatch(target):
        return target
    if BUNDLE_NAME.fullmatch(target) and target not in (".", ".."):
        return str(models_dir / target)
    raise ModelRefused(
        "reload takes models:/claimrisk@ALIAS, models:/claimrisk/VERSION or the name of a "
        "bundle folder in the server's models directory; nothing else is loaded"
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
