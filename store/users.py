"""Users, roles and API keys. A key is shown once, when made; the store keeps its argon2id hash.

A key reads ``cr_<key id>_<secret>``: the key id finds the user's row, the hash proves the
secret. Verifying argon2 costs tens of milliseconds by design, so a verified key is remembered
in memory (by an HMAC of the key under a per-process secret) for ``CACHE_SECONDS``: a worklist
page must not pay for a password hash.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import time
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import Connection, Engine, insert, select

from store.audit import now, record
from store.schema import users

ROLES = ("biller", "analyst", "lead", "admin")
#: What each role may do; enforced on the server for every request (serving.store_deps).
PERMISSIONS: dict[str, frozenset[str]] = {
    "biller": frozenset({"score"}),
    "analyst": frozenset({"score", "work"}),
    "lead": frozenset({"score", "work", "reassign", "kpis", "rules"}),
    "admin": frozenset({"score", "work", "reassign", "kpis", "rules", "models", "users"}),
}
CACHE_SECONDS = 60.0
_hasher = PasswordHasher()
_pepper = secrets.token_bytes(32)


@dataclass(frozen=True)
class User:
    id: int
    name: str
    role: str

    def may(self, permission: str) -> bool:
        return permission in PERMISSIONS[self.role]


class UserError(ValueError):
    pass


def add_user(conn: Connection, name: str, role: str, actor: str) -> str:
    """Create a user; returns the new API key (never stored, never shown again)."""
    if role not in ROLES:
        raise UserError(f"role {role!r} is not one of {', '.join(ROLES)}")
    if not name or len(name) > 100 or not name.replace("-", "").replace(".", "").isalnum():
        raise UserError(f"user name {name!r}: use letters, digits, '.' and '-' (1 to 100)")
    if conn.execute(select(users.c.id).where(users.c.name == name)).first():
        raise UserError(f"user {name!r} exists already")
    key_id = secrets.token_hex(6)
    key = f"cr_{key_id}_{secrets.token_urlsafe(32)}"
    conn.execute(
        insert(users).values(
            name=name,
            role=role,
            key_id=key_id,
            key_hash=_hasher.hash(key),
            active=True,
            created_at=now(),
        )
    )
    record(conn, actor, "create", "user", name, None, {"role": role})
    return key


class KeyCheck:
    """Turns an API key into its user, remembering verified keys for ``CACHE_SECONDS``."""

    def __init__(self, eng: Engine) -> None:
        self.engine = eng
        self._seen: dict[bytes, tuple[float, User]] = {}
        self._lock = threading.Lock()

    def user(self, key: str | None) -> User | None:
        if not key or not key.startswith("cr_") or key.count("_") < 2:
            return None
        tag = hmac.new(_pepper, key.encode(), hashlib.sha256).digest()
        with self._lock:
            hit = self._seen.get(tag)
        if hit and time.monotonic() - hit[0] < CACHE_SECONDS:
            return hit[1]
        found = self._verify(key)
        if found is not None:
            with self._lock:
                self._seen[tag] = (time.monotonic(), found)
        return found

    def _verify(self, key: str) -> User | None:
        key_id = key.split("_", 2)[1]
        with self.engine.connect() as conn:
            row = conn.execute(
                select(users).where(users.c.key_id == key_id, users.c.active.is_(True))
            ).first()
        if row is None:
            return None
        try:
            _hasher.verify(row.key_hash, key)
        except (VerificationError, InvalidHashError):
            return None
        return User(row.id, row.name, row.role)
