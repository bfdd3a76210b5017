"""An edit book: mined payer edits as a YAML file a person reviews, and the edits a claim trips.

Edits are data, not code: ``claimrisk edits mine`` writes them, a biller or analyst reads each
sentence, sets ``review`` (``unreviewed`` → ``accepted`` or ``rejected``) and ``enabled`` (false
switches one off), and scoring lists the enabled ones a claim trips beside its probability. The
file is read with ``yaml.safe_load`` and checked field by field: a bad edit is an error naming
its position and field, never a silently skipped rule.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from features.contract import DENIAL_CATEGORIES
from training.edits.conditions import ANY_PROCEDURE, Watch, claim_conditions

REVIEWS = ("unreviewed", "accepted", "rejected")
#: What every edit in the file carries, and the type each must have.
FIELDS: dict[str, type | tuple[type, ...]] = {
    "id": str,
    "payer": str,
    "procedure": str,
    "condition": str,
    "category": str,
    "says": str,
    "denial_rate": (int, float),
    "claims": int,
    "denied": int,
    "rate_otherwise": (int, float),
    "lift": (int, float),
    "dollars_at_stake": (int, float),
    "carcs": list,
    "since": str,
    "review": str,
    "enabled": bool,
}


class EditsError(ValueError):
    """An edit book that cannot be used: the message names the file, edit and field."""


def _condition_words(condition: str) -> str:
    kind, _, value = condition.partition(":")
    words = {
        "any": "",
        "with_modifier": f"with modifier {value}",
        "without_modifier": f"without modifier {value}",
        "without_authorization": "without prior authorization",
        "diagnosis_chapter": f"with a first diagnosis in ICD-10 chapter {value.replace('_', ' ')}",
        "place_of_service": f"at place of service {value}",
        "units_over": f"with more than {value} units",
        "without_eligibility_check": "without an eligibility check",
        "eligibility": f"when the latest 271 shows the coverage {value.replace('_', ' ')}",
        "replacement_without_original": "sent as replacements without the original claim number",
        "other_coverage": "for patients with other coverage",
        "filed_after": f"filed more than {value} days after the service",
    }
    return words.get(kind, condition)


def sentence(edit: dict[str, Any] | Any) -> str:
    """'COM01 has denied 97110 without prior authorization in 38% of 412 claims since 2025-07'."""
    get = edit.get if isinstance(edit, dict) else lambda k: getattr(edit, k)
    what = "claims" if get("procedure") == ANY_PROCEDURE else get("procedure")
    condition = _condition_words(get("condition"))
    reason = get("category").replace("_", " ")
    return (
        f"{get('payer')} has denied {what}{' ' + condition if condition else ''} for {reason} in "
        f"{get('denial_rate'):.0%} of {get('claims'):,} claims since {get('since')} "
        f"({get('rate_otherwise'):.1%} otherwise)"
    )


@dataclass(frozen=True)
class EditBook:
    """The edits of one file, as a frame (one row per edit, ``FIELDS`` columns)."""

    edits: pd.DataFrame
    source: str = ""

    @classmethod
    def from_mined(cls, mined: pd.DataFrame) -> EditBook:
        frame = mined.copy()
        frame.insert(0, "id", [f"{r.payer}-{r.procedure}-{r.condition}-{r.category}"
                               for r in frame.itertuples()])  # fmt: skip
        frame["says"] = [sentence(r) for r in frame.itertuples()]
        frame["review"], frame["enabled"] = "unreviewed", True
        return cls(frame[list(FIELDS)].reset_index(drop=True))

    def save(self, path: Path, mined_from: str) -> None:
        """The book as YAML, a header saying what it is and how to review it."""
        records = [{k: _plain(v) for k, v in row.items()} for row in self.edits.to_dict("records")]
        header = (
            f"# claimrisk payer edits, mined from {mined_from} on {dt.date.today()}.\n"
            "# Read each `says`; set review: accepted or rejected, and enabled: false to\n"
            "# switch an edit off. Scoring lists the enabled edits a claim trips\n"
            "# (`claimrisk score --edits`, `claimrisk serve --edits`). Ranked by dollars\n"
            "# at stake.\n"
        )
        body = yaml.safe_dump({"edits": records}, sort_keys=False, allow_unicode=False, width=100)
        path.write_text(header + body)

    @classmethod
    def load(cls, path: Path) -> EditBook:
        try:
            data = yaml.safe_load(path.read_text())
        except OSError as exc:
            raise EditsError(f"{path}: cannot be read ({exc.strerror or exc})") from None
        except yaml.YAMLError as exc:
            raise EditsError(f"{path}: not YAML ({exc}); write it as `edits mine` does") from None
        if not isinstance(data, dict) or not isinstance(data.get("edits"), list):
            raise EditsError(f"{path}: expected a mapping with an `edits:` list")
        for i, edit in enumerate(data["edits"]):
            _check(path, i, edit)
        columns = list(FIELDS)
        return cls(pd.DataFrame(data["edits"], columns=columns), str(path))

    @property
    def enabled(self) -> pd.DataFrame:
        return self.edits[self.edits["enabled"]]

    def watch(self) -> Watch:
        """The usual modifiers and units the enabled edits name (what their conditions read)."""
        modifiers: dict[str, set[str]] = {}
        units: dict[str, float] = {}
        for row in self.enabled.itertuples():
            kind, _, value = row.condition.partition(":")
            if kind == "without_modifier":
                modifiers.setdefault(row.procedure, set()).add(value)
            elif kind == "units_over":
                units[row.procedure] = float(value)
        return Watch({k: frozenset(v) for k, v in modifiers.items()}, units)

    def trips(
        self,
        claims: pd.DataFrame | dict,
        lines: pd.DataFrame | dict,
        eligibility: pd.DataFrame | None = None,
    ) -> list[list[dict[str, Any]]]:
        """Per claim (input order), the enabled edits it trips, highest denial rate first."""
        n = len(np.atleast_1d(claims["claim_id"]))
        out: list[list[dict[str, Any]]] = [[] for _ in range(n)]
        enabled = self.enabled
        if not len(enabled) or not n:
            return out
        rows = claim_conditions(claims, lines, self.watch(), eligibility)
        payer = np.asarray(claims["payer_id"], dtype=object)
        rows["payer"] = payer[rows["claim"].to_numpy()]
        hit = rows.merge(enabled, on=["payer", "procedure", "condition"])
        hit = hit.sort_values(["claim", "denial_rate"], ascending=[True, False], kind="stable")
        for claim, edit_id, says, category, condition in zip(
            hit["claim"], hit["id"], hit["says"], hit["category"], hit["condition"], strict=True
        ):
            out[claim].append(
                {"id": edit_id, "says": says, "category": category, "condition": condition}
            )
        return out


def _plain(value: Any) -> Any:
    """numpy scalars and lists as YAML's own types."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float):
        return round(value, 4)
    if isinstance(value, (list, np.ndarray)):
        return [str(v) for v in value]
    return value


def _check(path: Path, i: int, edit: Any) -> None:
    where = f"{path}: edit {i + 1}"
    if not isinstance(edit, dict):
        raise EditsError(f"{where}: expected a mapping of {', '.join(FIELDS)}")
    for name, kind in FIELDS.items():
        if name not in edit:
            raise EditsError(f"{where}: `{name}` is missing; keep every field `edits mine` wrote")
        value = edit[name]
        if not isinstance(value, kind) or (kind is not bool and isinstance(value, bool)):
            raise EditsError(f"{where} ({edit.get('id', '?')}): `{name}` is {value!r}; expected "
                             f"{getattr(kind, '__name__', 'a number')}")  # fmt: skip
    if edit["review"] not in REVIEWS:
        raise EditsError(f"{where} ({edit['id']}): review is {edit['review']!r}; use one of "
                         f"{', '.join(REVIEWS)}")  # fmt: skip
    if edit["category"] not in DENIAL_CATEGORIES:
        raise EditsError(f"{where} ({edit['id']}): category {edit['category']!r} is not a denial "
                         "category")  # fmt: skip
