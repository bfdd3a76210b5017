"""837P / 837I segments → contract rows for ``claims``, ``claim_lines`` and ``payers``.

A single pass with the few facts the loops carry forward: the billing provider (2000A HL 20:
NM1*85, PRV*BI), the subscriber and payer (2000B HL 22: SBR, NM1*IL, NM1*PR, DMG), the patient
when not the subscriber (2000C HL 23: NM1*QC, DMG), then each claim (2300 CLM, DTP, REF, HI,
2310B NM1*82, 2320 other payers) and its lines (2400 LX, SV1/SV2, DTP*472). Where each field
comes from is in the contract (``Field.x12``) and docs/x12.md.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from features.x12.segments import Rejected, Segment, Transaction

#: SBR09 claim filing indicator → the contract's payer type.
FILING_INDICATOR_TYPE = {
    "MA": "medicare",
    "MB": "medicare",
    "16": "medicare_advantage",
    "MC": "medicaid",
    "CI": "commercial",
    "BL": "commercial",
    "HM": "commercial",
    "12": "commercial",
    "13": "commercial",
    "14": "commercial",
    "15": "commercial",
}
#: HI qualifiers of the principal and other diagnoses (ICD-10 5010 first, ICD-9 for old files).
PRINCIPAL_DX = {"ABK", "BK"}
OTHER_DX = {"ABF", "BF"}


#: Contract fields the practice-management system holds and an 837 never carries: a claim read
#: from an 837 leaves them empty, and scoring treats them as unknown rather than absent.
NOT_IN_837: tuple[str, ...] = ("eligibility_verified_date",)


class BadValue(ValueError):
    """A value in a claim or remit that cannot be true: the claim or remit is rejected whole."""


def x12_date(value: str) -> str | None:
    """CCYYMMDD (or the first date of a CCYYMMDD-CCYYMMDD range) → ISO date; empty → None.

    A value that is present but not a calendar date (``20240230``, ``2024``) raises
    ``BadValue``: a wrong date must reject what holds it, never become another date or none.
    """
    value = value.split("-", 1)[0]
    if not value:
        return None
    if len(value) == 6 and value.isdigit():  # YYMMDD (4010 files)
        value = "20" + value
    try:
        if len(value) != 8 or not value.isdigit():
            raise ValueError
        return date(int(value[:4]), int(value[4:6]), int(value[6:])).isoformat()
    except ValueError:
        raise BadValue(f"{value!r} is not a date (expected CCYYMMDD)") from None


def date_range(value: str) -> tuple[str | None, str | None]:
    start, _, end = value.partition("-")
    return x12_date(start), x12_date(end or start)


def _age(birth: str | None, on: str | None) -> int | None:
    if not birth or not on:
        return None
    b, d = date.fromisoformat(birth), date.fromisoformat(on)
    return d.year - b.year - ((d.month, d.day) < (b.month, b.day))


def amount(value: str, what: str) -> float | None:
    """An X12 decimal (empty → None); anything else that is not a finite number raises."""
    if not value:
        return None
    try:
        number = float(value)
    except ValueError:
        raise BadValue(f"{what} {value!r} is not a number") from None
    if number != number or number in (float("inf"), float("-inf")):
        raise BadValue(f"{what} {value!r} is not a finite number")
    return number


@dataclass
class _Party:
    """What the 2000A/B/C loops say about the claims that follow."""

    billing_npi: str = ""
    taxonomy: str = ""
    payer_id: str = ""
    payer_name: str = ""
    payer_type: str = "other"
    subscriber_id: str = ""
    patient_id: str = ""
    birth: str | None = None
    sex: str = ""


@dataclass
class Claims837:
    claims: list[dict[str, Any]] = field(default_factory=list)
    lines: list[dict[str, Any]] = field(default_factory=list)
    payers: dict[str, dict[str, Any]] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    rejected: list[Rejected] = field(default_factory=list)


def read_837(tx: Transaction) -> Claims837:
    """One 837 transaction set → claims, lines and payers; a claim with an impossible value is
    rejected whole (``Claims837.rejected``), never read with a guess in its place."""
    reader = _Reader837(tx)
    drive(reader, tx.segments)
    return reader.out


def drive(reader: Any, segments: list[Segment]) -> None:
    """Feed a transaction's segments to a reader (837 or 835), then let it finish: a bad value
    spoils the claim or remit that holds it, never the rest of the set."""
    for seg in segments:
        try:
            reader.segment(seg)
        except BadValue as exc:
            reader.spoil(seg, str(exc))
    reader.finish()


class _Reader837:
    """The state one 837 transaction carries from loop to loop, and a handler per segment."""

    def __init__(self, tx: Transaction) -> None:
        self.tx, self.out, self.party = tx, Claims837(), _Party()
        self.submitted: str | None = None
        self.claim: dict[str, Any] | None = None
        self.line: dict[str, Any] | None = None
        self.current: list[dict[str, Any]] = []  # the open claim's lines
        self.level = ""  # current HL level code: 20, 22, 23
        self.nm1 = ""  # last NM1 qualifier, for the PRV/DMG/REF that follow it
        self.in_other_payer = False
        self.spoiled = ""  # why the claims of this subscriber/patient must be rejected (bad DMG)
        self.spoiled_set = ""  # why every claim of the set must be rejected (a bad BHT date)

    def spoil(self, seg: Segment, reason: str) -> None:
        """A bad value rejects the open claim, or every claim under the loop that holds it."""
        reason = f"segment {seg.position} {seg.id}: {reason}"
        if self.claim is not None:
            self.claim.setdefault("_bad", reason)
        elif seg.id == "BHT":
            self.spoiled_set = reason
        else:
            self.spoiled = reason

    def close_claim(self) -> None:
        claim = self.claim
        if claim is None:
            return
        if self.line is not None:
            self.current.append(self.line)
        claim_lines, self.current = self.current, []
        self.claim, self.line = None, None
        dates = [ln.pop("_from") for ln in claim_lines if ln.get("_from")]
        ends = [ln.pop("_to") for ln in claim_lines if ln.get("_to")]
        for ln in claim_lines:
            ln.pop("_from", None)
            ln.pop("_to", None)
            ln["_source"] = claim["_source"]  # which claim occurrence the line belongs to
        claim["service_date_from"] = claim["service_date_from"] or (min(dates) if dates else None)
        claim["service_date_to"] = claim["service_date_to"] or (max(ends) if ends else None)
        birth, served = self.party.birth, claim["service_date_from"]
        if birth and served and birth > served:
            claim.setdefault(
                "_bad", f"the patient's birth date {birth} is after the service {served}"
            )
        claim["patient_age"] = _age(birth, served)
        reason = claim.pop("_bad", None) or self.spoiled or self.spoiled_set
        if reason:
            self.out.rejected.append(
                Rejected(
                    self.tx.path.name, claim.pop("_position"), "claim", claim["claim_id"], reason
                )
            )
            return
        claim.pop("_position")
        self.out.lines.extend(claim_lines)
        self.out.claims.append(claim)

    def finish(self) -> None:
        self.close_claim()

    def segment(self, seg: Segment) -> None:
        handler = _HANDLERS.get(seg.id)
        if handler is not None:
            handler(self, seg)

    # -- the loops before any claim ------------------------------------------------------------

    def bht(self, seg: Segment) -> None:
        self.submitted = x12_date(seg[4])

    def hl(self, seg: Segment) -> None:
        self.close_claim()
        self.level, self.in_other_payer = seg[3], False
        if self.level in ("20", "22"):
            self.spoiled = ""
        if self.level == "20":
            self.party = _Party()
        elif self.level == "22":
            self.party.patient_id = self.party.subscriber_id = ""
            self.party.birth, self.party.sex = None, ""

    def sbr(self, seg: Segment) -> None:
        if self.claim is None:
            self.party.payer_type = FILING_INDICATOR_TYPE.get(seg[9], "other")
        else:
            self.in_other_payer = True  # 2320: another payer on this claim
            self.claim["other_coverage"] = True

    def nm1_(self, seg: Segment) -> None:
        self.nm1 = nm1 = seg[1]
        party, claim = self.party, self.claim
        if self.in_other_payer:
            return
        if nm1 == "85":
            party.billing_npi = seg[9]
        elif nm1 == "IL":
            party.subscriber_id = party.patient_id = seg[9]
        elif nm1 == "QC" and claim is None:
            party.patient_id = seg[9] or party.patient_id
        elif nm1 == "PR" and claim is None:
            party.payer_id, party.payer_name = seg[9], seg[3]
            self.out.payers.setdefault(
                seg[9], {"payer_id": seg[9], "name": seg[3], "payer_type": party.payer_type}
            )
        elif nm1 in ("82", "71") and claim is not None and self.line is None:
            # 837P 2310B rendering provider; 837I 2310A attending provider
            claim["rendering_npi"] = seg[9] or None

    def prv(self, seg: Segment) -> None:
        if seg[1] in ("BI", "PE") and self.level == "20":
            self.party.taxonomy = seg[3]
        elif seg[1] == "PE" and self.claim is not None and not self.claim["provider_taxonomy"]:
            self.claim["provider_taxonomy"] = seg[3]

    def dmg(self, seg: Segment) -> None:
        if self.nm1 in ("IL", "QC"):
            self.party.birth, self.party.sex = x12_date(seg[2]), seg[3]

    # -- the claim and its lines ---------------------------------------------------------------

    def clm(self, seg: Segment) -> None:
        self.close_claim()
        self.in_other_payer = False
        party = self.party
        facility, _, frequency = (*seg.components(5), "", "", "")[:3]
        self.claim = {
            "claim_id": seg[1],
            "patient_id": party.patient_id or party.subscriber_id,
            "payer_id": party.payer_id,
            "billing_npi": party.billing_npi,
            "rendering_npi": None,
            "provider_taxonomy": party.taxonomy or None,
            "claim_type": self.tx.claim_type,
            "place_of_service": facility[:2] or None,
            "frequency_code": frequency or "1",
            "original_claim_id": None,
            "service_date_from": None,
            "service_date_to": None,
            "submission_date": self.submitted,
            "total_charge": None,
            "diagnosis_codes": None,
            "patient_age": None,
            "patient_sex": party.sex or "U",
            "prior_auth_number": None,
            "eligibility_verified_date": None,
            "other_coverage": False,
            "_source": f"{self.tx.path.name} segment {seg.position}",
            "_position": seg.position,
        }
        self.claim["total_charge"] = amount(seg[2], "CLM02 total charge")

    def dtp(self, seg: Segment) -> None:
        if self.claim is None:
            return
        if self.line is None and seg[1] in ("434", "472"):
            self.claim["service_date_from"], self.claim["service_date_to"] = date_range(seg[3])
        elif self.line is not None and seg[1] == "472":
            self.line["_from"], self.line["_to"] = date_range(seg[3])

    def ref(self, seg: Segment) -> None:
        if self.claim is None or self.line is not None or self.in_other_payer:
            return
        if seg[1] == "G1":
            self.claim["prior_auth_number"] = seg[2]
        elif seg[1] == "F8":
            self.claim["original_claim_id"] = seg[2]

    def hi(self, seg: Segment) -> None:
        claim = self.claim
        if claim is None or self.line is not None:
            return
        codes = [] if claim["diagnosis_codes"] is None else claim["diagnosis_codes"].split("|")
        for i in range(1, 13):
            qualifier, code = (*seg.components(i), "", "")[:2]
            if not code:
                continue
            if qualifier in PRINCIPAL_DX:
                codes.insert(0, code.replace(".", ""))
            elif qualifier in OTHER_DX:
                codes.append(code.replace(".", ""))
        claim["diagnosis_codes"] = "|".join(codes[:12]) or None

    def lx(self, seg: Segment) -> None:
        if self.claim is None:
            return
        if self.line is not None:
            self.current.append(self.line)
        self.line = {"claim_id": self.claim["claim_id"], "line_number": None}
        if not seg[1].isdigit():
            raise BadValue(f"LX01 line number {seg[1]!r} is not a whole number")
        self.line["line_number"] = int(seg[1])

    def sv(self, seg: Segment) -> None:
        line, professional = self.line, seg.id == "SV1"
        if self.claim is None or line is None:
            return
        composite = seg.components(1 if professional else 2)
        mods = [m or None for m in composite[2:6]] + [None] * 4
        line.update(
            procedure_code=composite[1] if len(composite) > 1 and composite[1] else None,
            modifier_1=mods[0],
            modifier_2=mods[1],
            modifier_3=mods[2],
            modifier_4=mods[3],
            diagnosis_pointers=(":".join(p for p in seg.components(7) if p) or None)
            if professional
            else None,
            revenue_code=None if professional else seg[1],
        )
        line["units"] = amount(seg[4] if professional else seg[5], f"{seg.id} units") or 1.0
        line["line_charge"] = amount(seg[2] if professional else seg[3], f"{seg.id} line charge")


_HANDLERS = {
    "BHT": _Reader837.bht,
    "HL": _Reader837.hl,
    "SBR": _Reader837.sbr,
    "NM1": _Reader837.nm1_,
    "PRV": _Reader837.prv,
    "DMG": _Reader837.dmg,
    "CLM": _Reader837.clm,
    "DTP": _Reader837.dtp,
    "REF": _Reader837.ref,
    "HI": _Reader837.hi,
    "LX": _Reader837.lx,
    "SV1": _Reader837.sv,
    "SV2": _Reader837.sv,
}
