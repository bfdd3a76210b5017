"""Service settings, from the environment (``CLAIMRISK_*``) or arguments, checked at start-up."""

from __future__ import annotations

from pathlib import Path

from pydantic import model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


def _split(keys: str) -> list[str]:
    return [k.strip() for k in keys.split(",") if k.strip()]


class Settings(BaseSettings):
    """Everything the service can be told. ``CLAIMRISK_API_KEYS=k1,k2`` sets the keys.

    Unknown ``CLAIMRISK_*`` variables are refused (a typo must not silently leave a default).
    """

    model_config = SettingsConfigDict(env_prefix="CLAIMRISK_", extra="forbid")

    #: What to serve at start-up: ``models:/claimrisk@champion``, ``models:/claimrisk/N``, or a
    #: bundle folder the operator chose.
    model: str = "models:/claimrisk@champion"
    tracking_uri: str | None = None
    #: Where reload may find bundles by name (``{"model": "demo"}`` → ``models/demo``).
    models_dir: Path = Path("models")
    #: Comma-separated API keys accepted in ``X-API-Key`` for scoring and ranking.
    api_keys: str = ""
    #: Keys that may reload the model. None set: the admin endpoint does not exist.
    admin_keys: str = ""
    #: Run without scoring keys. Only for a local demo; must be asked for explicitly.
    allow_anonymous: bool = False
    max_body_bytes: int = 32 * 1024 * 1024
    max_batch: int = 10_000
    #: Claims above which a request is scored in the bounded pool for large batches.
    inline_claims: int = 20
    #: Large batches scored at once; more wait their turn, so single claims never queue
    #: behind a pile of 10,000-claim explained batches.
    large_batch_slots: int = 1
    #: Score requests of at least this many bytes (about 1,000 claims) are handled whole in
    #: the batch lane's processes (``serving/lane.py``), away from the event loop.
    lane_bytes: int = 1_000_000
    #: The store (``claimrisk serve --db URL``; the same ``CLAIMRISK_DATABASE_URL`` as the
    #: ``db`` commands). With it: users and roles from the store, the worklist, KPIs, and
    #: every score remembered. Without it, the stateless endpoints work as before.
    database_url: str | None = None
    #: How often the service checks the store for new loads to refresh its history from.
    history_check_seconds: float = 60.0
    #: X12's CARC/RARC code lists (CSV), for what the codes on a remit mean (store.detail).
    codes_dir: Path | None = None
    #: A folder of appeal letter templates (``<category>.txt``, Jinja2) that take the place of
    #: the shipped ones in ``web/templates/letters`` (web.letters).
    letters_dir: Path | None = None
    #: An edit book (``claimrisk edits mine``): scores list the enabled edits a claim trips.
    edits: Path | None = None

    @model_validator(mode="after")
    def _keys_apart(self) -> Settings:
        if not self.keys() and not self.allow_anonymous and not self.database_url:
            raise ValueError(
                "no API keys: set CLAIMRISK_API_KEYS=key1,key2 (or run with allow_anonymous "
                "for a local demo: `claimrisk serve --no-auth`)"
            )
        if set(self.keys()) & set(self.admin()):
            raise ValueError(
                "an admin key equals a scoring key: CLAIMRISK_ADMIN_KEYS must be different "
                "from every key in CLAIMRISK_API_KEYS"
            )
        return self

    def keys(self) -> list[str]:
        return _split(self.api_keys)

    def admin(self) -> list[str]:
        return _split(self.admin_keys)
