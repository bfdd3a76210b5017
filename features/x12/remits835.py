"""835 segments → contract rows for ``remits``, ``remit_adjustments`` and ``remit_remarks``.

Per transaction: the remit date (DTM*405 production date, else BPR16), the payer (1000A N1*PR:
REF*2U, else N104, else its name). Per claim (2100 CLP): patient control number (CLP01 → the
claim_id it answers), status (CLP02; 22 = reversal), charge, paid, patient responsibility,
payer claim control number (CLP07), claim-level CAS and MIA/MOA remarks. Per service line (2110
SVC): line-level CAS (every triplet of a segment), the line number from REF*6R when given, else
the SVC's order, and LQ*HE remarks.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from features.x12.claims837 import BadValue, amount, drive, x12_date
from features.x12.segments import Rejected, Segment, Transaction

#: MIA / MOA elements that carry remark codes.
MIA_REMARKS = (5, 20, 21, 22, 23)
MOA_REMARKS = (3, 4, 5, 6, 7)


def _required(value: str, what: str) -> float:
    """A required X12 amount: a finite number, or the remit is rejected."""
    number = amount(value, what)
    if number is None:
        raise BadValue(f"{what} is empty")
    return number


@dataclass
class Remits835:
    remits: list[dict[str, Any]] = field(default_factory=list)
    adjustments: list[dict[str, Any]] = field(default_factory=list)
    remarks: list[dict[str, Any]] = field(default_factory=list)
    payers: dict[str, dict[str, Any]] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    rejected: list[Rejected] = field(default_factory=list)


def read_835(tx: Transaction, prefix: str) -> Remits835:
    """One 835 transaction set → remits, adjustments, remarks. ``prefix`` makes remit ids unique
    across files (``<prefix>-<CLP position>``). A remit with an impossible value is rejected
    whole with its adjustments and remarks, never read as a $0 payment."""
    reader = _Reader835(tx, prefix)
    drive(reader, tx.segments)
    return reader.out


class _Reader835:
    """The state one 835 transaction carries: its date and payer, the open remit and line."""

    def __init__(self, tx: Transaction, prefix: str) -> None:
        self.tx, self.prefix, self.out = tx, prefix, Remits835()
        self.remit_date = self.payer_id = self.payer_name = ""
        self.remit: dict[str, Any] | None = None
        self.line_no: int | None = None
        self.svc_count = 0
        self.bad: dict[str, str] = {}  # remit_id → why it is rejected
        self.spoiled = ""  # a bad BPR/DTM date: every remit of the set is rejected

    def spoil(self, seg: Segment, reason: str) -> None:
        reason = f"segment {seg.position} {seg.id}: {reason}"
        if self.remit is None:
            self.spoiled = self.spoiled or reason
        else:
            self.bad.setdefault(self.remit["remit_id"], reason)

    def finish(self) -> None:
        """Drop every rejected remit with its adjustments and remarks, and say why."""
        out, bad = self.out, self.bad
        if self.spoiled:
            bad = {r["remit_id"]: bad.get(r["remit_id"], self.spoiled) for r in out.remits}
        for r in out.remits:
            if r["remit_id"] in bad:
                position = int(r["remit_id"].rsplit("-", 1)[1])
                out.rejected.append(
                    Rejected(
                        self.tx.path.name, position, "remit", r["claim_id"], bad[r["remit_id"]]
                    )
                )
        out.remits = [r for r in out.remits if r["remit_id"] not in bad]
        out.adjustments = [a for a in out.adjustments if a["remit_id"] not in bad]
        out.remarks = [r for r in out.remarks if r["remit_id"] not in bad]

    def segment(self, seg: Segment) -> None:
        sid = seg.id
        if sid == "BPR":
            self.remit_date = x12_date(seg[16]) or self.remit_date
        elif sid == "DTM" and seg[1] == "405" and self.remit is None:
            self.remit_date = x12_date(seg[2]) or self.remit_date
        elif sid == "N1" and seg[1] == "PR":
            self.payer_name, self.payer_id = seg[2], seg[4] or self.payer_id
        elif sid == "REF" and seg[1] == "2U" and self.remit is None:
            self.payer_id = seg[2]
        elif sid == "CLP":
            self.clp(seg)
        elif sid == "PLB":
            self.remit = None
        elif self.remit is not None:
            self.in_remit(seg)

    def clp(self, seg: Segment) -> None:
        # a payer without an id (N104 / REF*2U) is keyed by its name, made id-safe
        name = self.payer_name
        pid = self.payer_id or re.sub(r"[^0-9A-Za-z\-_.]+", "_", name).strip("_") or "UNKNOWN"
        self.out.payers.setdefault(pid, {"payer_id": pid, "name": name or pid})
        if not self.remit_date:
            self.out.problems.append(
                f"segment {seg.position}: no remit date (DTM*405 or BPR16) before this CLP"
            )
        self.remit = {
            "remit_id": f"{self.prefix}-{seg.position}",
            "claim_id": seg[1],
            "payer_id": pid,
            "payer_claim_control_number": seg[7] or None,
            "claim_status_code": seg[2],
            "remit_date": self.remit_date or None,
            "charge_amount": None,
            "paid_amount": None,
            "patient_responsibility": None,
            "_source": f"{self.tx.path.name} segment {seg.position}",
            "_service_date": None,  # DTM*232, else the first line's DTM*472: for matching
        }
        self.out.remits.append(self.remit)
        self.line_no, self.svc_count = None, 0
        self.remit["charge_amount"] = _required(seg[3], "CLP03 charge")
        self.remit["paid_amount"] = _required(seg[4], "CLP04 payment")
        self.remit["patient_responsibility"] = amount(seg[5], "CLP05 patient responsibility")

    def in_remit(self, seg: Segment) -> None:
        sid, remit = seg.id, self.remit
        if sid == "DTM" and seg[1] in ("232", "472") and not remit["_service_date"]:
            remit["_service_date"] = x12_date(seg[2])
        elif sid == "SVC":
            self.svc_count += 1
            self.line_no = self.svc_count
        elif sid == "REF" and seg[1] == "6R" and self.line_no is not None:
            digits = "".join(ch for ch in seg[2] if ch.isdigit())
            self.line_no = int(digits) if digits and len(digits) <= 3 else self.line_no
        elif sid == "CAS":
            for k in range(2, 19, 3):  # up to six reason/amount/quantity triplets
                if seg[k]:
                    self.out.adjustments.append(
                        self._row(
                            carc=seg[k],
                            group_code=seg[1],
                            amount=_required(seg[k + 1], f"CAS{k + 1:02d} amount"),
                        )
                    )
        elif sid in ("MIA", "MOA") and self.line_no is None:
            for k in MIA_REMARKS if sid == "MIA" else MOA_REMARKS:
                if seg[k]:
                    self.out.remarks.append(self._row(rarc=seg[k], line_number=None))
        elif sid == "LQ" and seg[1] == "HE":
            self.out.remarks.append(self._row(rarc=seg[2]))

    def _row(self, **fields: Any) -> dict[str, Any]:
        """An adjustment or remark of the open remit (on the open service line by default)."""
        return {
            "remit_id": self.remit["remit_id"],
            "claim_id": self.remit["claim_id"],
            "line_number": self.line_no,
            **fields,
        }
