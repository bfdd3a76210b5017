"""Every table of the store, declared once (SQLAlchemy Core).

The contract tables are built from ``features.contract``, so a field added to the contract is a
column here (and needs a migration: ``tests/test_store.py`` fails until the migrations match
this metadata). Store-only columns say where a row came from and what replaced it.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from features.contract import TABLES, Field

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

_TYPES = {"string": String(64), "int": BigInteger(), "float": Float(), "bool": Boolean()}
#: Free-text contract fields wider than an identifier.
_WIDE = {"name": String(200), "diagnosis_codes": String(400), "diagnosis_pointers": String(40)}


def _column(f: Field, key: tuple[str, ...], reference: str | None) -> Column:
    kind = Date() if f.kind == "date" else _WIDE.get(f.name, _TYPES[f.kind])
    refs = [ForeignKey(reference)] if reference else []
    return Column(f.name, kind, *refs, primary_key=f.name in key, nullable=not f.required)


def _contract(name: str, *extra: Column | Index | UniqueConstraint) -> Table:
    spec = TABLES[name]
    refs = {r.column: f"{r.table}.{r.target}" for r in spec.references}
    columns = [_column(f, spec.key, refs.get(f.name)) for f in spec.fields]
    if not spec.key:  # adjustment and remark rows have no natural key
        columns.insert(0, Column("id", Integer, primary_key=True, autoincrement=True))
    return Table(name, metadata, *columns, *extra)


#: One row per load: a file (by its SHA-256) or a dataset folder, with what it changed.
loads = Table(
    "loads",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(400), nullable=False),
    Column("sha256", String(64), nullable=False, unique=True),
    Column("kind", String(20), nullable=False),
    Column("loaded_at", DateTime(timezone=True), nullable=False),
    Column("loaded_by", String(100), nullable=False),
    Column("summary", JSON, nullable=False),
)
#: Interchanges seen (ISA06 sender, ISA13 control number): a resent interchange is skipped.
interchanges = Table(
    "interchanges",
    metadata,
    Column("sender", String(30), primary_key=True),
    Column("control", String(20), primary_key=True),
    Column("load_id", ForeignKey("loads.id"), nullable=False),
)

payers = _contract("payers")
claims = _contract(
    "claims",
    Column("load_id", ForeignKey("loads.id"), nullable=True),
    Column("superseded_by", String(64), nullable=True, index=True),
    Index("ix_claims_payer_claim", "payer_id"),
)
claim_lines = _contract("claim_lines")
remits = _contract(
    "remits",
    Column("load_id", ForeignKey("loads.id"), nullable=True),
    Column("fingerprint", String(40), nullable=False, unique=True),
    Column("reversed_by", String(64), nullable=True),
    Index("ix_remits_claim", "claim_id"),
    Index("ix_remits_pccn", "payer_claim_control_number"),
)
remit_adjustments = _contract("remit_adjustments", Index("ix_adjustments_remit", "remit_id"))
remit_remarks = _contract("remit_remarks", Index("ix_remarks_remit", "remit_id"))
appeals = _contract("appeals", Index("ix_appeals_claim", "claim_id"))
#: Remits whose claim is not in the store yet: matched on a later load, when its 837 arrives.
pending_remits = Table(
    "pending_remits",
    metadata,
    Column("fingerprint", String(40), primary_key=True),
    Column("clp01", String(64), nullable=False, index=True),
    Column("load_id", ForeignKey("loads.id"), nullable=False),
    Column("remit", JSON, nullable=False),  # the remit row and its adjustments and remarks
)

#: Every score given, by whom and with which model.
scores = Table(
    "scores",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("claim_id", String(64), nullable=False, index=True),
    Column("model_version", String(200), nullable=False),
    Column("denial_probability", Float, nullable=False),
    Column("risk_band", String(10), nullable=False),
    Column("factors", JSON, nullable=True),
    Column("likely_categories", JSON, nullable=False),
    Column("unknown_inputs", JSON, nullable=True),
    Column("as_of", Date, nullable=True),
    Column("scored_at", DateTime(timezone=True), nullable=False),
    Column("scored_by", String(100), nullable=False),
)

#: The denial worklist: one item per denied claim, ranked by the model (see store.worklist).
worklist_items = Table(
    "worklist_items",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("claim_id", ForeignKey("claims.claim_id"), nullable=False, unique=True),
    Column("remit_id", ForeignKey("remits.remit_id"), nullable=False),
    Column("payer_id", String(64), nullable=False),
    Column("provider_npi", String(20), nullable=True),  # unknown in a flat export without NPIs
    Column("category", String(40), nullable=False),
    Column("carc_codes", JSON, nullable=False),
    Column("denied_amount", Float, nullable=False, index=True),
    Column("denial_date", Date, nullable=False, index=True),
    Column("deadline", Date, nullable=False, index=True),
    # no index on status alone: a page is read along its sort's index (store.worklist.page)
    Column("status", String(20), nullable=False),
    Column("assignee", String(100), nullable=True),
    Column("team", String(100), nullable=True),
    Column("rule_id", Integer, nullable=True),
    # the model's view of the item; empty until a model ranked it
    Column("model_version", String(200), nullable=True),
    Column("recovery_probability", Float, nullable=True),
    Column("recoverable_amount", Float, nullable=True),
    Column("expected_recovery", Float, nullable=True),
    Column("effort_hours", Float, nullable=True),
    Column("next_step", String(40), nullable=True),
    # working order, lowest first: minus training.worklist.value_band (UNRANKED until ranked)
    Column("priority_key", Integer, nullable=False),
    Column("recovered_amount", Float, nullable=True),
    Column("version", Integer, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Index("ix_worklist_order", "priority_key", "deadline", "id"),
    # a filtered page in working order is an index walk too
    *(
        Index(f"ix_worklist_{column}_order", column, "priority_key", "deadline", "id")
        for column in ("payer_id", "category", "assignee")
    ),
    Index("ix_worklist_category_deadline", "category", "deadline", "id"),
)
notes = Table(
    "notes",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("item_id", ForeignKey("worklist_items.id"), nullable=False, index=True),
    Column("author", String(100), nullable=False),
    Column("text", Text, nullable=False),
    Column("written_at", DateTime(timezone=True), nullable=False),
)
#: New items are routed by the first active rule (by position) whose conditions all hold.
routing_rules = Table(
    "routing_rules",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("position", Integer, nullable=False),
    Column("category", String(40), nullable=True),
    Column("payer_id", String(64), nullable=True),
    Column("provider_npi", String(20), nullable=True),
    Column("min_amount", Float, nullable=True),
    Column("max_amount", Float, nullable=True),
    Column("assignee", String(100), nullable=True),
    Column("team", String(100), nullable=True),
    Column("active", Boolean, nullable=False),
)
users = Table(
    "users",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(100), nullable=False, unique=True),
    Column("role", String(20), nullable=False),
    Column("key_id", String(16), nullable=False, unique=True),  # the key's public prefix
    Column("key_hash", String(200), nullable=False),  # argon2id of the whole key
    Column("active", Boolean, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    # the web app's sign-in: argon2id of the password (none set: no sign-in), and the lockout
    Column("password_hash", String(200)),
    Column("failed_logins", Integer, nullable=False, server_default="0"),
    Column("locked_until", DateTime(timezone=True)),
)
#: Signed-in browsers: the SHA-256 of the session cookie's random token (the token itself is
#: never stored), the user, the form token (CSRF) and when the session ends.
web_sessions = Table(
    "web_sessions",
    metadata,
    Column("token_hash", String(64), primary_key=True),
    Column("user_id", Integer, ForeignKey("users.id"), nullable=False, index=True),
    Column("csrf", String(64), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False),
)
#: Append-only (triggers refuse UPDATE and DELETE): who did what, when, from what to what.
audit_log = Table(
    "audit_log",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at", DateTime(timezone=True), nullable=False, index=True),
    Column("actor", String(100), nullable=False),
    Column("action", String(40), nullable=False),
    Column("entity", String(40), nullable=False),
    Column("entity_id", String(64), nullable=False),
    Column("before", JSON, nullable=True),
    Column("after", JSON, nullable=True),
    Index("ix_audit_entity", "entity", "entity_id"),
)
#: Key/value facts about the store (the history snapshot's remit date, ...).
store_state = Table(
    "store_state",
    metadata,
    Column("key", String(100), primary_key=True),
    Column("value", JSON, nullable=False),
)
#: Each monitoring pass (``claimrisk monitor --db``): the day it was run as of and its whole
#: result (alerts, drift, performance), which the service's gauges and the monitoring page read.
monitor_runs = Table(
    "monitor_runs",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("as_of", Date, nullable=False, index=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("actor", String(100), nullable=False),
    Column("result", JSON, nullable=False),
)
