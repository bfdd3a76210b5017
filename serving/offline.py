"""Offline twins of the endpoints: ``claimrisk score`` and ``claimrisk rank`` on files.

Input files use the flat claim shape (one row per claim line with the claim's header columns,
as the MLflow pyfunc takes). Claims go through the one scoring path (``training.scoring``):
validated with the checks of ``claimrisk validate``, scored, and every claim that could not be
scored is written, with its field and rule, to a rejects file beside the output.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from features.codes import ADJUSTMENT_CODE
from features.io import load_dataset, read_folder
from features.labels import open_denials
from features.validate import REJECT_COLUMNS, validate_claims
from features.x12.ingest import ingest
from serving.state import load
from training.edits.book import EditBook
from training.scoring import Denials, Scored, flat_scores, rank_valid, score_claims, score_x12
from training.tracking import flatten, json_shaped, unflatten

DENIAL_COLUMNS = ("carc_codes", "denied_amount", "denial_date")
FORMATS = {".csv": "csv", ".parquet": "parquet", ".jsonl": "jsonl"}


@dataclass(frozen=True)
class Outcome:
    written: int
    rejected: int
    rejects_file: Path | None


def _read(path: Path) -> pd.DataFrame:
    if not path.exists():
        raise FileNotFoundError(f"{path} does not exist")
    if path.suffix == ".csv":
        frame = pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[""])
    elif path.suffix == ".jsonl":
        frame = pd.read_json(path, lines=True, dtype=False)
    else:
        frame = pd.read_parquet(path)
    if "claim_id" not in frame:
        raise ValueError(f"{path} has no claim_id column: expected one row per claim line")
    return json_shaped(frame)


def write(frame: pd.DataFrame, out: Path) -> None:
    """Write in the format the file's extension names (.csv, .parquet, .jsonl)."""
    fmt = FORMATS.get(out.suffix)
    if fmt is None:
        raise ValueError(f"{out}: unknown extension; name the file .csv, .parquet or .jsonl")
    out.parent.mkdir(parents=True, exist_ok=True)
    if fmt == "csv":
        frame.to_csv(out, index=False)
    elif fmt == "jsonl":
        frame.to_json(out, orient="records", lines=True)
    else:
        frame.to_parquet(out, index=False)


def rejects_path(out: Path) -> Path:
    return out.with_name(f"{out.stem}.rejects.csv")


def _write_rejects(rejects: pd.DataFrame, out: Path) -> Path | None:
    path = rejects_path(out)
    if rejects.empty:
        path.unlink(missing_ok=True)
        return None
    write(rejects, path)
    return path


def _claims_of(source: Path) -> tuple[pd.DataFrame, pd.DataFrame, list[str], pd.DataFrame | None]:
    """Claims and lines from a flat file, or from a dataset folder's ``claims`` and
    ``claim_lines`` tables as ``generate``, ``ingest`` and ``import`` write them (with its
    ``eligibility`` responses, when it has them)."""
    if not source.is_dir():
        frame = _read(source)
        claims, lines = unflatten(frame)
        ids = [c for c in frame["claim_id"].tolist() if isinstance(c, str) and c]
        return claims, lines, ids, None
    raw, _, unreadable = read_folder(source)
    missing = [t for t in ("claims", "claim_lines") if t not in raw]
    if missing or unreadable:
        problem = f"lacks {missing}" if missing else f"cannot read {sorted(unreadable)}"
        raise ValueError(f"{source} {problem}: expected claims and claim_lines tables")
    claims = raw["claims"]
    ids = claims["claim_id"].dropna().astype(str).tolist()
    return claims, raw["claim_lines"], ids, raw.get("eligibility")


def score_file(
    model: str,
    input: Path,
    out: Path,
    explain: str = "none",
    tracking_uri: str | None = None,
    edits: EditBook | None = None,
) -> Outcome:
    """Score a flat file or a dataset folder; rejected claims go to ``<out>.rejects.csv`` (and
    are listed in ``out`` as rejected)."""
    if out.suffix not in FORMATS:
        write(pd.DataFrame(), out)  # raises the message naming the formats
    loaded = load(model, tracking_uri)
    claims, lines, order, responses = _claims_of(input)
    scored: Scored = score_claims(
        loaded.model,
        claims,
        lines,
        explain,  # type: ignore[arg-type]
        eligibility=responses,
        edits=edits,
    )
    result = flat_scores(scored, order)
    result["model_version"] = loaded.version
    write(result, out)
    return Outcome(
        int((result["status"] == "scored").sum()),
        len(scored.rejected_ids) + int(scored.rejects["claim_id"].isna().any()),
        _write_rejects(scored.rejects, out),
    )


def score_x12_files(
    model: str,
    paths: list[Path],
    out: Path,
    explain: str = "none",
    tracking_uri: str | None = None,
    edits: EditBook | None = None,
) -> Outcome:
    """Score the claims of 837 files before submission: one row per CLM read, with the API's
    fields. What could not be read (a claim, a transaction set, a file) goes to the rejects file
    with its segment and reason, beside the claims that broke the contract."""
    if out.suffix not in FORMATS:
        write(pd.DataFrame(), out)
    loaded = load(model, tracking_uri)
    result = score_x12(loaded.model, ingest(paths), explain, edits)  # type: ignore[arg-type]
    unread = pd.DataFrame(
        [
            (
                e["id"] if e["what"] == "claim" else None,
                e["file"],
                e["segment"],
                e["what"],
                "read",
                e["id"],
                e["reason"],
            )
            for e in result.read_errors
        ],
        columns=list(REJECT_COLUMNS),
    )
    frame = flat_scores(result.scored, result.claim_ids)
    frame["model_version"] = loaded.version
    write(frame, out)
    rejects = pd.concat([result.scored.rejects, unread], ignore_index=True)
    return Outcome(
        int((frame["status"] == "scored").sum()),
        len(result.scored.rejected_ids) + len(unread),
        _write_rejects(rejects, out),
    )


def _denial_problems(frame: pd.DataFrame) -> pd.DataFrame:
    """The denial columns' own rules, as rejects (claim, row, field, rule, got, message)."""
    code = re.compile(f"(?:{ADJUSTMENT_CODE})")
    rows = []
    for i, r in enumerate(frame[list(DENIAL_COLUMNS)].itertuples(index=False), start=1):
        claim = frame["claim_id"].iloc[i - 1]
        codes = str(r.carc_codes or "").split("|")
        if not all(code.fullmatch(c.strip().upper()) for c in codes):
            rows.append(
                (
                    claim,
                    "denials",
                    i,
                    "carc_codes",
                    "format",
                    r.carc_codes,
                    "expected adjustment codes joined by '|', e.g. CO-197|N54",
                )
            )
        amount = pd.to_numeric(pd.Series([r.denied_amount]), errors="coerce").iloc[0]
        if not (np.isfinite(amount) and amount >= 0):
            rows.append(
                (
                    claim,
                    "denials",
                    i,
                    "denied_amount",
                    "type",
                    r.denied_amount,
                    "expected a finite number of dollars >= 0",
                )
            )
        if pd.isna(pd.to_datetime(r.denial_date, format="%Y-%m-%d", errors="coerce")):
            rows.append(
                (
                    claim,
                    "denials",
                    i,
                    "denial_date",
                    "type",
                    r.denial_date,
                    "expected an ISO date YYYY-MM-DD",
                )
            )
    return pd.DataFrame(rows, columns=list(REJECT_COLUMNS))


def _denials_of(source: Path) -> pd.DataFrame:
    """Open denials in the flat shape: a file as given, or built from a dataset folder's remits
    (``features.labels.open_denials``: denied on first pass, not paid since, no decided appeal)."""
    if not source.is_dir():
        return _read(source)
    tables, _ = load_dataset(source)
    denials = open_denials(tables)
    ids = set(denials["claim_id"])
    claims = tables["claims"][tables["claims"]["claim_id"].isin(ids)]
    lines = tables["claim_lines"][tables["claim_lines"]["claim_id"].isin(ids)]
    facts = denials.assign(carc_codes=denials["carc_codes"].map("|".join))
    return json_shaped(flatten(claims, lines).merge(facts, on="claim_id", how="left"))


def rank_file(
    model: str,
    denials: Path,
    as_of: dt.date,
    out: Path,
    capacity: int | None = None,
    tracking_uri: str | None = None,
) -> Outcome:
    loaded = load(model, tracking_uri)
    frame = _denials_of(denials)
    missing = [c for c in DENIAL_COLUMNS if c not in frame]
    if missing:
        raise ValueError(f"{denials} lacks {missing}: add them to every row of each denial")
    claims, lines = unflatten(frame)
    typed, rejects = validate_claims(claims, lines)
    rejects = pd.concat([rejects, _denial_problems(frame)], ignore_index=True)
    bad = set(rejects["claim_id"].dropna())
    first = frame.drop_duplicates("claim_id")
    first = first[first["claim_id"].notna() & ~first["claim_id"].isin(bad)]
    keep = typed["claims"]["claim_id"].isin(first["claim_id"]) if "claims" in typed else []
    items = []
    if len(first) and "claim_lines" in typed:
        ok_claims = typed["claims"][keep]
        ok_lines = typed["claim_lines"][typed["claim_lines"]["claim_id"].isin(first["claim_id"])]
        facts = first.set_index("claim_id").loc[ok_claims["claim_id"]]
        items = rank_valid(
            loaded.model,
            ok_claims,
            ok_lines,
            Denials(
                carc_codes=[str(c).split("|") for c in facts["carc_codes"]],
                denied_amount=pd.to_numeric(facts["denied_amount"]).to_numpy(dtype=float),
                denial_date=list(pd.to_datetime(facts["denial_date"]).dt.date),
                appeal_deadline=list(
                    pd.to_datetime(
                        facts.get("appeal_deadline", pd.Series(None, index=facts.index))
                    ).dt.date
                ),
            ),
            as_of,
            capacity,
        )
    ranked = pd.DataFrame(items)
    if len(ranked):
        ranked["unknown_codes"] = ranked["unknown_codes"].map("|".join)
    ranked["model_version"] = loaded.version
    write(ranked, out)
    return Outcome(len(ranked), len(bad), _write_rejects(rejects, out))
