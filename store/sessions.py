"""Passwords, sign-in with a lockout, and the web app's sessions, all kept in the store.

A password is kept as its argon2id hash (``argon2-cffi``: memory-hard, salted). After
``MAX_FAILURES`` wrong passwords in a row the user is locked for ``LOCK_MINUTES``; while locked,
even the right password is refused, and the message does not say whether the name exists.

A session is a random 256-bit token in an HttpOnly cookie; the store keeps only its SHA-256
(a token that random needs no slow hash: there is nothing to guess), with the form token (CSRF)
that every form of the session must send back, and an end ``SESSION_HOURS`` after sign-in.
Signing out deletes the row, so a copied cookie stops working at once. Every sign-in, failure,
lock, sign-out and password change is an audit row.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import Connection, delete, insert, select, update

from store.audit import now, record
from store.schema import users, web_sessions
from store.users import User, UserError

MAX_FAILURES = 5
LOCK_MINUTES = 15
SESSION_HOURS = 10
MIN_PASSWORD = 12
_hasher = PasswordHasher()
#: Verified when the name is unknown, so that a wrong name costs what a wrong password costs.
_DUMMY = _hasher.hash(secrets.token_urlsafe(16))


class SignInRefused(ValueError):
    """A sign-in that did not succeed; the message is safe to show."""


@dataclass(frozen=True)
class Session:
    user: User
    csrf: str
    expires_at: dt.datetime


def set_password(conn: Connection, name: str, password: str, actor: str) -> None:
    """Give ``name`` a password (and lift any lockout)."""
    if len(password) < MIN_PASSWORD:
        raise UserError(f"a password needs at least {MIN_PASSWORD} characters")
    done = conn.execute(
        update(users)
        .where(users.c.name == name)
        .values(password_hash=_hasher.hash(password), failed_logins=0, locked_until=None)
    ).rowcount
    if not done:
        raise UserError(f"no user {name!r}: create it first with `claimrisk user add`")
    record(conn, actor, "set_password", "user", name)


def sign_in(conn: Connection, name: str, password: str) -> tuple[str, Session]:
    """The new session's cookie token and the session, or ``SignInRefused``. Commit the
    transaction even when it raises: the failure counts towards the lockout."""
    row = conn.execute(select(users).where(users.c.name == name)).mappings().first()
    at = now()
    if row is None or not row["active"] or row["password_hash"] is None:
        _verify(_DUMMY, password)
        raise SignInRefused("wrong user name or password")
    if row["locked_until"] is not None and _aware(row["locked_until"]) > at:
        raise SignInRefused(
            f"too many failed sign-ins: try again after {LOCK_MINUTES} minutes, or ask an admin"
        )
    if not _verify(row["password_hash"], password):
        _failed(conn, row, at)
        raise SignInRefused("wrong user name or password")
    conn.execute(
        update(users).where(users.c.id == row["id"]).values(failed_logins=0, locked_until=None)
    )
    token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    ends = at + dt.timedelta(hours=SESSION_HOURS)
    conn.execute(
        insert(web_sessions).values(
            token_hash=_digest(token), user_id=row["id"], csrf=csrf, created_at=at, expires_at=ends
        )
    )
    record(conn, name, "sign_in", "user", name)
    return token, Session(User(row["id"], row["name"], row["role"]), csrf, ends)


def _failed(conn: Connection, row, at: dt.datetime) -> None:
    failures = row["failed_logins"] + 1
    locked = at + dt.timedelta(minutes=LOCK_MINUTES) if failures >= MAX_FAILURES else None
    conn.execute(
        update(users)
        .where(users.c.id == row["id"])
        .values(failed_logins=0 if locked else failures, locked_until=locked)
    )
    record(conn, "anonymous", "sign_in_failed", "user", row["name"], None, {"failures": failures})
    if locked:
        record(conn, "system", "lock", "user", row["name"], None, {"until": locked})


def session(conn: Connection, token: str | None) -> Session | None:
    """The live session a cookie token stands for, or None."""
    if not token:
        return None
    found = conn.execute(
        select(web_sessions, users.c.name, users.c.role, users.c.active)
        .join(users, users.c.id == web_sessions.c.user_id)
        .where(web_sessions.c.token_hash == _digest(token))
    ).first()
    if found is None or not found.active or _aware(found.expires_at) <= now():
        return None
    return Session(User(found.user_id, found.name, found.role), found.csrf, found.expires_at)


def sign_out(conn: Connection, token: str, name: str) -> None:
    conn.execute(delete(web_sessions).where(web_sessions.c.token_hash == _digest(token)))
    record(conn, name, "sign_out", "user", name)


def _verify(hashed: str, password: str) -> bool:
    try:
        return _hasher.verify(hashed, password)
    except (VerificationError, InvalidHashError):
        return False


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _aware(moment: dt.datetime) -> dt.datetime:
    """SQLite gives back naive datetimes for timezone-aware columns: they were stored in UTC."""
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)
