"""Service settings, from the environment (``CLAIMRISK_*``) or arguments."""

from __future__ import annotations

from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Everything the service can be told. ``CLAIMRISK_API_KEYS=k1,k2`` sets the keys."""

    model_config = SettingsConfigDict(env_prefix="CLAIMRISK_", extra="ignore")

    model: str = "models:/claimrisk@champion"
    tracking_uri: str | None = None
    #: Comma-separated API keys accepted in ``X-API-Key``.
    api_keys: str = ""
    #: Keys allowed to reload the model (default: any API key).
    admin_keys: str = ""
    #: Run without keys. Only for a local demo; must be asked for explicitly.
    allow_anonymous: bool = False
    max_body_bytes: int = 32 * 1024 * 1024
    max_batch: int = 10_000

    def keys(self) -> list[str]:
        return [k.strip() for k in self.api_keys.split(",") if k.strip()]

    def admin(self) -> list[str]:
        return [k.strip() for k in self.admin_keys.split(",") if k.strip()] or self.keys()
