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

from features.x12.segments import ParsedFile

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


def x12_date(value: str) -> str | None:
    """CCYYMMDD (or the first date of a CCYYMMDD-CCYYMMDD range) → ISO date, else None."""
    value = value.split("-", 1)[0]
    if len(value) == 8 and value.isdigit():
        return f"{value[:4]}-{value[4:6]}-{value[6:]}"
    if len(value) == 6 and value.isdigit():  # YYMMDD (4010 files)
        return f"20{value[:2]}-{value[2:4]}-{value[4:]}"
    return None


def date_range(value: str) -> tuple[str | None, str | None]:
    start, _, end = value.partition("-")
    return x12_date(start), x12_date(end or start)


def _age(birth: str | None, on: str | None) -> int | None:
    if not birth or not on:
        return None
    b, d = date.fromisoformat(birth), date.fromisoformat(on)
    return d.year - b.year - ((d.month, d.day) < (b.month, b.day))


def _number(value: str) -> float | None:
    try:
        return float(value)
    except ValueError:
        return None


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


def read_837(parsed: ParsedFile) -> Claims837:
    out = Claims837()
    institutional = "X223" in parsed.version or "X096" in parsed.version
    party = _Party()
    submitted: str | None = None
    claim: dict[str, Any] | None = None
    line: dict[str, Any] | None = None
    level = ""  # current HL level code: 20, 22, 23
    nm1 = ""  # last NM1 qualifier, for the PRV/DMG/REF that follow it
    in_other_payer = False

    current: list[dict[str, Any]] = []  # the open claim's lines

    def close_claim() -> None:
        nonlocal claim, line
        if claim is None:
            return
        if line is not None:
            current.append(line)
        claim_lines = list(current)
        current.clear()
        out.lines.extend(claim_lines)
        dates = [ln.pop("_from") for ln in claim_lines if ln.get("_from")]
        ends = [ln.pop("_to") for ln in claim_lines if ln.get("_to")]
        for ln in claim_lines:
            ln.pop("_from", None)
            ln.pop("_to", None)
            ln["_source"] = claim["_source"]  # which claim occurrence the line belongs to
        claim["service_date_from"] = claim["service_date_from"] or (min(dates) if dates else None)
        claim["service_date_to"] = claim["service_date_to"] or (max(ends) if ends else None)
        claim["patient_age"] = _age(party.birth, claim["service_date_from"])
        out.claims.append(claim)
        claim, line = None, None

    for seg in parsed.segments:
        sid = seg.id
        if sid == "BHT":
            submitted = x12_date(seg[4])
        elif sid == "HL":
            close_claim()
            level = seg[3]
            in_other_payer = False
            if level == "20":
                party = _Party()
            elif level == "22":
                party.patient_id = party.subscriber_id = ""
                party.birth, party.sex = None, ""
        elif sid == "SBR" and claim is None:
            party.payer_type = FILING_INDICATOR_TYPE.get(seg[9], "other")
        elif sid == "SBR":
            in_other_payer = True  # 2320: another payer on this claim
            claim["other_coverage"] = True
        elif sid == "NM1":
            nm1 = seg[1]
            if in_other_payer:
                continue
            if nm1 == "85":
                party.billing_npi = seg[9]
            elif nm1 == "IL":
                party.subscriber_id = party.patient_id = seg[9]
            elif nm1 == "QC" and claim is None:
                party.patient_id = seg[9] or party.patient_id
            elif nm1 == "PR" and claim is None:
                party.payer_id, party.payer_name = seg[9], seg[3]
                out.payers.setdefault(
                    seg[9], {"payer_id": seg[9], "name": seg[3], "payer_type": party.payer_type}
                )
            elif nm1 in ("82", "71") and claim is not None and line is None:
                # 837P 2310B rendering provider; 837I 2310A attending provider
                claim["rendering_npi"] = seg[9] or None
        elif sid == "PRV" and seg[1] in ("BI", "PE") and level == "20":
            party.taxonomy = seg[3]
        elif (
            sid == "PRV" and seg[1] == "PE" and claim is not None and not claim["provider_taxonomy"]
        ):
            claim["provider_taxonomy"] = seg[3]
        elif sid == "DMG" and nm1 in ("IL", "QC"):
            party.birth, party.sex = x12_date(seg[2]), seg[3]
        elif sid == "CLM":
            close_claim()
            in_other_payer = False
            facility, _, frequency = seg.components(5)[:3] + ("",) * (3 - len(seg.components(5)))
            claim = {
                "claim_id": seg[1],
                "patient_id": party.patient_id or party.subscriber_id,
                "payer_id": party.payer_id,
                "billing_npi": party.billing_npi,
                "rendering_npi": None,
                "provider_taxonomy": party.taxonomy or None,
                "claim_type": "institutional" if institutional else "professional",
                "place_of_service": facility[:2] or None,
                "frequency_code": frequency or "1",
                "original_claim_id": None,
                "service_date_from": None,
                "service_date_to": None,
                "submission_date": submitted,
                "total_charge": _number(seg[2]),
                "diagnosis_codes": None,
                "patient_age": None,
                "patient_sex": party.sex or "U",
                "prior_auth_number": None,
                "eligibility_verified_date": None,
                "other_coverage": False,
                "_source": f"{parsed.path.name} segment {seg.position}",
            }
        elif claim is None:
            continue
        elif sid == "DTP" and line is None and seg[1] in ("434", "472"):
            claim["service_date_from"], claim["service_date_to"] = date_range(seg[3])
        elif sid == "REF" and line is None and not in_other_payer:
            if seg[1] == "G1":
                claim["prior_auth_number"] = seg[2]
            elif seg[1] == "F8":
                claim["original_claim_id"] = seg[2]
        elif sid == "HI" and line is None:
            codes = [] if claim["diagnosis_codes"] is None else claim["diagnosis_codes"].split("|")
            for i in range(1, 13):
                qualifier, code = seg.part(i, 1), seg.part(i, 2)
                if not code:
                    continue
                if qualifier in PRINCIPAL_DX:
                    codes.insert(0, code.replace(".", ""))
                elif qualifier in OTHER_DX:
                    codes.append(code.replace(".", ""))
            claim["diagnosis_codes"] = "|".join(codes[:12]) or None
        elif sid == "LX":
            if line is not None:
                current.append(line)
            line = {"claim_id": claim["claim_id"], "line_number": int(seg[1] or 0)}
        elif sid in ("SV1", "SV2") and line is not None:
            composite = seg.components(1 if sid == "SV1" else 2)
            mods = [m or None for m in composite[2:6]] + [None] * 4
            line.update(
                procedure_code=composite[1] if len(composite) > 1 and composite[1] else None,
                modifier_1=mods[0],
                modifier_2=mods[1],
                modifier_3=mods[2],
                modifier_4=mods[3],
                units=_number(seg[4] if sid == "SV1" else seg[5]) or 1.0,
                line_charge=_number(seg[2] if sid == "SV1" else seg[3]),
                diagnosis_pointers=":".join(p for p in seg.components(7) if p) or None
                if sid == "SV1"
                else None,
                revenue_code=seg[1] if sid == "SV2" else None,
            )
        elif sid == "DTP" and line is not None and seg[1] == "472":
            line["_from"], line["_to"] = date_range(seg[3])
        elif sid in ("SE", "GE", "IEA"):
            close_claim()
    close_claim()
    return out
