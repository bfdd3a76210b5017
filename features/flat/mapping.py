"""The column map of a flat import: which export column feeds which contract field, and how.

A map is a YAML file a person writes (or ``claimrisk import flat --suggest-map`` drafts). It is
read into a :class:`ColumnMap` once and checked key by key: an unknown key, a field that is not
in the contract, a status word mapped to something other than an outcome, a date format without
a year: each is a :class:`MapError` that names the key, what was expected and the fix. Nothing
here reads the export itself; ``features.flat.build`` does.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml

from features.contract import (
    CARC,
    CLAIM_TYPES,
    DENIAL_CATEGORIES,
    FREQUENCY_CODES,
    GROUP_CODES,
    IDENT,
    PAYER_TYPES,
    TABLES,
)

Outcome = Literal["paid", "denied", "partially_paid", "pending"]
OUTCOMES: tuple[str, ...] = ("paid", "denied", "partially_paid", "pending")
Level = Literal["claim", "line"]
ExtraType = Literal["bool", "float", "string"]
EXTRA_TYPES: tuple[str, ...] = ("bool", "float", "string")

#: Contract fields an export's columns may feed: the claim header and its lines, plus the two
#: a person writes more often than the contract's own (a birth date, a single procedure code).
CLAIM_FIELDS = tuple(TABLES["claims"].columns)
LINE_FIELDS = tuple(f for f in TABLES["claim_lines"].columns if f != "claim_id")
DERIVED_FIELDS = ("patient_birth_date",)
MAPPABLE = (*CLAIM_FIELDS, *LINE_FIELDS, *DERIVED_FIELDS)
#: Outcome inputs, read from the claims file or from the denials file.
OUTCOME_KEYS = ("status", "paid_amount", "decision_date", "carc", "reason")
#: Dates are tried in this order when the map names no format.
DEFAULT_DATE_FORMATS = ("%Y-%m-%d", "%m/%d/%Y", "%m/%d/%y")
TOP_KEYS = (
    "version",
    "level",
    "columns",
    "defaults",
    "dates",
    "outcome",
    "denials",
    "payers",
    "reasons",
    "extras",
    "decision_lag_days",
)


class MapError(ValueError):
    """A map key or value that cannot be used; the message names it and says how to fix it."""


@dataclass(frozen=True)
class PayerInfo:
    """What the map says of one payer name as the export writes it."""

    payer_id: str
    payer_type: str | None = None
    timely_filing_days: int | None = None
    appeal_window_days: int | None = None


@dataclass(frozen=True)
class Reason:
    """A denial reason as the export writes it, as a CARC (with its group) or a category."""

    carc: str | None = None
    group: str = "CO"
    category: str | None = None


@dataclass(frozen=True)
class Denials:
    """A second file of denials, joined to the claims by ``key`` (its claim number column)."""

    file: str
    key: str
    columns: dict[str, str] = field(default_factory=dict)  # outcome key → header


@dataclass(frozen=True)
class ColumnMap:
    """A validated map (see docs/import.md for each key)."""

    level: Level
    columns: dict[str, str]
    defaults: dict[str, Any]
    date_formats: dict[str, tuple[str, ...]]  # header → formats; "" for every date column
    outcome: dict[str, str]  # outcome key → header (claims file)
    status_values: dict[str, str]  # export word → outcome
    denials: Denials | None
    payers: dict[str, PayerInfo]
    reasons: dict[str, Reason]
    extras: dict[str, tuple[str, ExtraType]]  # x_name → (header, type)
    decision_lag_days: int | None = None

    def formats(self, header: str) -> tuple[str, ...]:
        return self.date_formats.get(header) or self.date_formats.get("", DEFAULT_DATE_FORMATS)


def load_map(path: Path) -> ColumnMap:
    """Read and check a map file; a :class:`MapError` names the first key that is wrong."""
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise MapError(f"{path}: no such map file; write one with --suggest-map {path}") from None
    except yaml.YAMLError as exc:
        where = getattr(exc, "problem_mark", None)
        line = f" line {where.line + 1}" if where else ""
        raise MapError(f"{path}{line}: not valid YAML ({exc}); fix the file's syntax") from None
    return parse_map(raw, str(path))


def parse_map(raw: Any, source: str = "map") -> ColumnMap:
    """Check every key of a parsed map (a dict) and build the :class:`ColumnMap`."""
    raw = _mapping(raw, source, "the map")
    _known(raw, TOP_KEYS, source, "")
    if raw.get("version", 1) != 1:
        raise MapError(f"{source} version: {raw['version']!r} is not known; use version: 1")
    level = raw.get("level", "claim")
    if level not in ("claim", "line"):
        raise MapError(f"{source} level: {level!r}; expected claim (a row per claim) or line")
    columns = _columns(raw.get("columns"), source)
    outcome, status_values = _outcome(raw.get("outcome"), source)
    denials = _denials(raw.get("denials"), source)
    if "claim_id" not in columns:
        raise MapError(f"{source} columns.claim_id: missing; name the claim number's column")
    has_status = "status" in outcome or denials is not None
    if not has_status:
        raise MapError(
            f"{source} outcome.status: missing; name the column that says paid or denied "
            "(or give a denials: file)"
        )
    lag = raw.get("decision_lag_days")
    if lag is not None and (not isinstance(lag, int) or not 0 <= lag <= 365):
        raise MapError(f"{source} decision_lag_days: {lag!r}; expected whole days 0-365")
    return ColumnMap(
        level=level,
        columns=columns,
        defaults=_defaults(raw.get("defaults"), source),
        date_formats=_dates(raw.get("dates"), source),
        outcome=outcome,
        status_values=status_values,
        denials=denials,
        payers=_payers(raw.get("payers"), source),
        reasons=_reasons(raw.get("reasons"), source),
        extras=_extras(raw.get("extras"), source),
        decision_lag_days=lag,
    )


# --- one function per section ------------------------------------------------------------------


def _mapping(value: Any, source: str, key: str) -> dict:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise MapError(f"{source} {key}: expected a mapping of names to values, got {value!r}")
    return dict(value)


def _known(section: dict, allowed: tuple[str, ...], source: str, prefix: str) -> None:
    for key in section:
        if key not in allowed:
            raise MapError(
                f"{source} {prefix}{key}: not a key of this section; expected one of "
                + ", ".join(allowed)
            )


def _header(value: Any, source: str, key: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise MapError(f"{source} {key}: {value!r}; expected the export's column header as text")
    return value


def _columns(value: Any, source: str) -> dict[str, str]:
    section = _mapping(value, source, "columns")
    out = {}
    for name, header in section.items():
        if name not in MAPPABLE:
            hint = (
                " (custom columns go under extras:, named x_...)" if name.startswith("x_") else ""
            )
            raise MapError(
                f"{source} columns.{name}: not a contract field{hint}; expected one of "
                + ", ".join(MAPPABLE)
            )
        out[name] = _header(header, source, f"columns.{name}")
    return out


#: What a default may set, with the values it may take (None: checked by the contract).
_DEFAULTS: dict[str, tuple[str, ...] | None] = {
    "claim_type": CLAIM_TYPES,
    "frequency_code": FREQUENCY_CODES,
    "place_of_service": None,
    "units": None,
    "payer_type": PAYER_TYPES,
    "timely_filing_days": None,
    "appeal_window_days": None,
    "submission_lag_days": None,
}


def _defaults(value: Any, source: str) -> dict[str, Any]:
    section = _mapping(value, source, "defaults")
    _known(section, tuple(_DEFAULTS), source, "defaults.")
    for name, given in section.items():
        allowed = _DEFAULTS[name]
        text = str(given)
        if allowed is not None and text not in allowed:
            raise MapError(
                f"{source} defaults.{name}: {given!r}; expected one of {', '.join(allowed)}"
            )
        number = isinstance(given, int | float) and not isinstance(given, bool) and given >= 0
        if (name.endswith("_days") or name == "units") and not number:
            raise MapError(f"{source} defaults.{name}: {given!r}; expected a number >= 0")
        section[name] = given if allowed is None else text
    return section


def _dates(value: Any, source: str) -> dict[str, tuple[str, ...]]:
    section = _mapping(value, source, "dates")
    _known(section, ("format", "formats"), source, "dates.")
    out: dict[str, tuple[str, ...]] = {}
    if "format" in section:
        out[""] = _formats(section["format"], source, "dates.format")
    for header, formats in _mapping(section.get("formats"), source, "dates.formats").items():
        out[str(header)] = _formats(formats, source, f"dates.formats.{header}")
    return out


def _formats(value: Any, source: str, key: str) -> tuple[str, ...]:
    formats = (value,) if isinstance(value, str) else value
    if not isinstance(formats, list | tuple) or not formats:
        raise MapError(f"{source} {key}: {value!r}; expected a format such as %m/%d/%Y")
    for f in formats:
        if not isinstance(f, str) or ("%Y" not in f and "%y" not in f) or "%" not in f:
            raise MapError(
                f"{source} {key}: {f!r} has no year; expected a strftime format such as "
                "%m/%d/%Y, or %Y-%m for month-only dates"
            )
    return tuple(formats)


def _outcome(value: Any, source: str) -> tuple[dict[str, str], dict[str, str]]:
    section = _mapping(value, source, "outcome")
    _known(section, (*OUTCOME_KEYS, "values"), source, "outcome.")
    headers = {k: _header(section[k], source, f"outcome.{k}") for k in OUTCOME_KEYS if k in section}
    values = {}
    for word, outcome in _mapping(section.get("values"), source, "outcome.values").items():
        if outcome not in OUTCOMES:
            raise MapError(
                f"{source} outcome.values.{word}: {outcome!r}; expected one of "
                + ", ".join(OUTCOMES)
            )
        values[str(word).strip().lower()] = outcome
    if "status" in headers and not values:
        raise MapError(
            f"{source} outcome.values: missing; say what each status word means, e.g. "
            "{Paid: paid, Denied: denied, Partial: partially_paid, Open: pending}"
        )
    return headers, values


def _denials(value: Any, source: str) -> Denials | None:
    if value is None:
        return None
    section = _mapping(value, source, "denials")
    _known(section, ("file", "key", "columns"), source, "denials.")
    for k in ("file", "key"):
        if k not in section:
            raise MapError(f"{source} denials.{k}: missing; the denials file needs a file and key")
    columns = _mapping(section.get("columns"), source, "denials.columns")
    _known(columns, OUTCOME_KEYS, source, "denials.columns.")
    return Denials(
        file=_header(section["file"], source, "denials.file"),
        key=_header(section["key"], source, "denials.key"),
        columns={k: _header(v, source, f"denials.columns.{k}") for k, v in columns.items()},
    )


def _payers(value: Any, source: str) -> dict[str, PayerInfo]:

    out = {}
    for name, info in _mapping(value, source, "payers").items():
        key = f"payers.{name}"
        info = {"payer_id": info} if isinstance(info, str) else _mapping(info, source, key)
        _known(info, tuple(PayerInfo.__dataclass_fields__), source, f"{key}.")
        payer_id = str(info.get("payer_id", ""))
        if not re.fullmatch(IDENT, payer_id):
            raise MapError(
                f"{source} {key}.payer_id: {payer_id!r}; expected up to 50 letters, digits, "
                "'-', '_' or '.'"
            )
        ptype = info.get("payer_type")
        if ptype is not None and ptype not in PAYER_TYPES:
            raise MapError(
                f"{source} {key}.payer_type: {ptype!r}; expected one of " + ", ".join(PAYER_TYPES)
            )
        for days in ("timely_filing_days", "appeal_window_days"):
            given = info.get(days)
            if given is not None and (not isinstance(given, int) or not 1 <= given <= 3650):
                raise MapError(f"{source} {key}.{days}: {given!r}; expected whole days 1-3650")
        out[str(name).strip().lower()] = PayerInfo(
            payer_id,
            ptype,
            info.get("timely_filing_days"),
            info.get("appeal_window_days"),
        )
    return out


def _reasons(value: Any, source: str) -> dict[str, Reason]:

    out = {}
    for text, target in _mapping(value, source, "reasons").items():
        key = f"reasons.{text}"
        target = str(target).strip()
        group, _, code = target.upper().rpartition("-")
        if target in DENIAL_CATEGORIES:
            reason = Reason(category=target)
        elif re.fullmatch(CARC, code) and (not group or group in GROUP_CODES):
            reason = Reason(carc=code, group=group or "CO")
        else:
            raise MapError(
                f"{source} {key}: {target!r}; expected a CARC (197 or CO-197) or a category: "
                + ", ".join(DENIAL_CATEGORIES)
            )
        out[str(text).strip().lower()] = reason
    return out


def _extras(value: Any, source: str) -> dict[str, tuple[str, ExtraType]]:

    out = {}
    for name, spec in _mapping(value, source, "extras").items():
        key = f"extras.{name}"
        if not re.fullmatch(r"x_[a-z][a-z0-9_]{0,40}", str(name)):
            raise MapError(
                f"{source} {key}: a custom feature's name must be x_ then lower-case letters, "
                "digits or _ (e.g. x_in_network)"
            )
        spec = _mapping(spec, source, key)
        _known(spec, ("column", "type"), source, f"{key}.")
        kind = spec.get("type")
        if kind not in EXTRA_TYPES:
            raise MapError(f"{source} {key}.type: {kind!r}; expected one of bool, float, string")
        out[str(name)] = (_header(spec.get("column"), source, f"{key}.column"), kind)
    return out
