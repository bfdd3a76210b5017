"""Offline twins of the endpoints: ``claimrisk score`` and ``claimrisk rank`` on files.

Input files use the flat claim shape (one row per claim line with the claim's header columns,
as the MLflow pyfunc takes). Each claim is validated by the same request models as the API and
scored by the same functions, so a file and an HTTP call agree.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pandas as pd
from pydantic import ValidationError

from serving import scoring
from serving.schemas import Claim, OpenDenial
from serving.state import load
from training.tracking import json_shaped

DENIAL_COLUMNS = ("carc_codes", "denied_amount", "denial_date", "appeal_deadline")


def _read(path: Path) -> pd.DataFrame:
    if not path.exists():
        raise FileNotFoundError(f"{path} does not exist")
    frame = pd.read_csv(path, dtype=str) if path.suffix == ".csv" else pd.read_parquet(path)
    if "claim_id" not in frame:
        raise ValueError(f"{path} has no claim_id column: expected one row per claim line")
    return json_shaped(frame)


def _records(frame: pd.DataFrame, extra: tuple[str, ...] = ()) -> list[dict[str, Any]]:
    """Flat rows → one nested dict per claim (header fields + lines), in first-seen order."""
    header = [c for c in scoring.HEADER if c in frame]
    line = [c for c in scoring.LINE if c in frame]
    out = []
    for _, rows in frame.groupby("claim_id", sort=False):
        first = rows.iloc[0]
        claim = {c: first[c] for c in header}
        claim["lines"] = [{c: r[c] for c in line} for r in rows[line].to_dict("records")]
        out.append({"claim": claim, **{c: first[c] for c in extra if c in rows}})
    return out


def _validate(model_type: type, record: dict[str, Any], where: str) -> Any:
    try:
        return model_type.model_validate(record)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first["loc"])
        raise ValueError(f"{where}: field {field}: {first['msg']}") from None


def score_file(model: str, input: Path, out: Path, tracking_uri: str | None = None) -> int:
    loaded = load(model, tracking_uri)
    records = _records(_read(input))
    claims = [_validate(Claim, r["claim"], f"claim {r['claim'].get('claim_id')}") for r in records]
    scores = scoring.score(loaded.model, claims, "none")
    frame = pd.DataFrame(
        [
            {
                "claim_id": s["claim_id"],
                "denial_probability": s["denial_probability"],
                "risk_band": s["risk_band"],
                "category_1": s["likely_categories"][0]["category"],
                "category_1_probability": s["likely_categories"][0]["probability"],
                "unknown_codes": "|".join(s["unknown_codes"]),
            }
            for s in scores
        ]
    )
    frame["model_version"] = loaded.version
    out.parent.mkdir(parents=True, exist_ok=True)
    frame.to_parquet(out, index=False)
    return len(frame)


def rank_file(
    model: str,
    denials: Path,
    as_of: dt.date,
    out: Path,
    capacity: int | None = None,
    tracking_uri: str | None = None,
) -> int:
    loaded = load(model, tracking_uri)
    frame = _read(denials)
    missing = [c for c in ("carc_codes", "denied_amount", "denial_date") if c not in frame]
    if missing:
        raise ValueError(f"{denials} lacks {missing}: add them to every row of each denial")
    items = []
    for r in _records(frame, DENIAL_COLUMNS):
        r["carc_codes"] = str(r["carc_codes"]).split("|")
        items.append(_validate(OpenDenial, r, f"denial {r['claim'].get('claim_id')}"))
    ranked = pd.DataFrame(scoring.rank(loaded.model, items, as_of, capacity))
    ranked["unknown_codes"] = ranked["unknown_codes"].map("|".join)
    ranked["model_version"] = loaded.version
    out.parent.mkdir(parents=True, exist_ok=True)
    ranked.to_parquet(out, index=False)
    return len(ranked)
