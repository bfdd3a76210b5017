"""X12 271 (005010X279A1) eligibility responses ↔ the contract's ``eligibility`` rows.

Reading, per transaction set: the checked date is BHT04; the payer is 2100A NM1*PR (NM109, else
its name). Each subscriber or dependent loop (HL 22/23) is one response: the member id (2100C
NM1*IL NM109), the patient (REF*EJ, the patient account number, else the member id), the plan's
first and last day (DTP 346/356 and 347/357), and the coverage status: EB01 1-5 active, 6-8
inactive, an AAA rejected with its reason (AAA03). An AAA at the source or receiver level (the
payer will not answer this provider at all) is one rejected response with no member, named by
BHT03. Response ids are TRN02, else ``<file prefix>-<segment position>``. A
dependent (HL 23) carries the subscriber's member id and is a patient only by its REF*EJ.

DTP 291 and 307 are not read as the plan's span: payers send them as the date(s) the answer is
for, often the inquiry's own day, and a plan read as ending there would look like a lapse.

Writing is the reverse (``features.x12.write.write_271``), and the round trip gives back the
same rows (``tests/test_eligibility.py``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from features.x12.claims837 import BadValue, x12_date
from features.x12.segments import Rejected, Segment, Transaction

VERSION_271 = "005010X279A1"
ACTIVE, INACTIVE = frozenset("12345"), frozenset("678")
PLAN_BEGIN, PLAN_END = frozenset({"346", "356"}), frozenset({"347", "357"})


@dataclass
class Eligibility271:
    responses: list[dict[str, Any]] = field(default_factory=list)
    payers: dict[str, dict[str, Any]] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    rejected: list[Rejected] = field(default_factory=list)


def read_271(tx: Transaction, prefix: str) -> Eligibility271:
    """One 271 transaction set → eligibility rows. ``prefix`` names a response that carries no
    trace number (``<prefix>-<segment position>``)."""
    reader = _Reader271(tx, prefix)
    for seg in tx.segments:
        try:
            reader.segment(seg)
        except BadValue as exc:
            reader.spoil(seg, str(exc))
    reader.finish()
    return reader.out


class _Reader271:
    """The state one 271 carries: its date and payer, and the open response."""

    def __init__(self, tx: Transaction, prefix: str) -> None:
        self.tx, self.prefix, self.out = tx, prefix, Eligibility271()
        self.checked: str | None = None
        self.reference = ""  # BHT03: names a response that has no member loop (nor TRN)
        self.payer_id = ""
        self.level = ""  # HL03 of the open loop: 20 source, 21 receiver, 22/23 member
        self.open: dict[str, Any] | None = None
        self.subscriber: str | None = None  # the open subscriber's member id
        self.statuses: list[str] = []
        self.in_related = False  # inside LS … LE: another party's name, not the member's

    def segment(self, seg: Segment) -> None:
        sid = seg.id
        if sid == "LS":
            self.in_related = True
        elif sid == "LE":
            self.in_related = False
        elif self.in_related:
            return
        elif sid == "BHT":
            self.checked, self.reference = x12_date(seg[4]), seg[3]
        elif sid == "HL":
            self._close()
            self.level = seg[3]
            if self.level == "22":
                self.subscriber = None
            if self.level in ("22", "23"):
                self._start(seg.position, parent=seg[4] == "1")
        elif sid == "NM1":
            self._name(seg)
        elif sid == "AAA":
            self._aaa(seg)
        elif self.open is not None:
            self._member_detail(seg)

    def _name(self, seg: Segment) -> None:
        if seg[1] == "PR" and self.level == "20":
            self.payer_id = seg[9] or seg[3]
            self.out.payers.setdefault(self.payer_id, {"name": seg[3] or self.payer_id})
        elif seg[1] == "IL" and self.open is not None:
            self.open["member_id"] = self.subscriber = seg[9] or None

    def _aaa(self, seg: Segment) -> None:
        if self.open is not None:
            self.open["coverage_status"], self.open["reject_reason"] = "rejected", seg[3]
            return
        row = self._row(seg.position)
        row.update(coverage_status="rejected", reject_reason=seg[3] or None)
        row["response_id"] = self.reference or row["response_id"]
        self.out.responses.append(row)

    def _member_detail(self, seg: Segment) -> None:
        sid, row = seg.id, self.open
        assert row is not None
        if sid == "TRN" and seg[2] and not row["_trace"]:
            row["response_id"], row["_trace"] = seg[2], True
        elif sid == "REF" and seg[1] == "EJ" and seg[2]:
            row["patient_id"] = seg[2]
        elif sid == "DTP" and not self.statuses and seg[2] == "D8":
            if seg[1] in PLAN_BEGIN:
                row["plan_begin_date"] = x12_date(seg[3])
            elif seg[1] in PLAN_END:
                row["plan_end_date"] = x12_date(seg[3])
        elif sid == "DTP" and not self.statuses and seg[2] == "RD8" and seg[1] in PLAN_BEGIN:
            begin, _, end = seg[3].partition("-")
            row["plan_begin_date"], row["plan_end_date"] = x12_date(begin), x12_date(end)
        elif sid == "EB":
            self.statuses.append(seg[1])

    def _row(self, position: int) -> dict[str, Any]:
        return {
            "response_id": f"{self.prefix}-{position}",
            "patient_id": None,
            "payer_id": self.payer_id or None,
            "member_id": None,
            "checked_date": self.checked,
            "coverage_status": None,
            "reject_reason": None,
            "plan_begin_date": None,
            "plan_end_date": None,
            "source": "271",
        }

    def _start(self, position: int, parent: bool) -> None:
        """A member's loop: a dependent (HL 23) has the subscriber's member id; a subscriber
        whose dependents follow (HL04 1) is a response only if it states coverage itself."""
        row = {**self._row(position), "_trace": False, "_parent": parent}
        if self.level == "23":
            row["member_id"] = self.subscriber
        self.open, self.statuses = row, []

    def _close(self) -> None:
        row, self.open = self.open, None
        if row is None:
            return
        row.pop("_trace")
        parent = row.pop("_parent")
        if row["coverage_status"] is None:
            if any(s in ACTIVE for s in self.statuses):
                row["coverage_status"] = "active"
            elif any(s in INACTIVE for s in self.statuses):
                row["coverage_status"] = "inactive"
        if row["coverage_status"] is None and parent:
            return  # the subscriber of the dependents that follow
        if row["coverage_status"] is None:
            self.out.problems.append(
                f"{self.tx.path.name}: response {row['response_id']} states no coverage (no EB01 "
                "1-8 and no AAA): not read"
            )
            return
        if row["patient_id"] is None and self.level == "22":
            row["patient_id"] = row["member_id"]  # a dependent's is not the subscriber's
        self.out.responses.append(row)

    def spoil(self, seg: Segment, reason: str) -> None:
        what = self.open["response_id"] if self.open else f"ST02={self.tx.control}"
        self.out.rejected.append(
            Rejected(self.tx.path.name, seg.position, "response", what, f"{seg.id}: {reason}")
        )
        if self.open is not None:
            self.open = None
        else:
            self.checked = None

    def finish(self) -> None:
        self._close()
