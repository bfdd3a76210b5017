"""Contract tables → X12 837P, 837I and 835 files that pyx12's validator accepts.

For exporting a dataset (e.g. generated data) to the format billing systems speak, and for the
round trip test: write, validate with pyx12 (``x12valid``), read back, compare. GS08 carries
the labels pyx12 has maps for: 005010X222A1 (837P), 005010X223A2 (837I), 005010X221A1 (835);
the reader accepts the A2/A3 labels real senders use as well.

What X12 does not carry is not invented: the 837 has no eligibility-check date, no payer
filing limit or appeal window, and no patient or provider names in our contract, so names are
neutral placeholders and the patient's birth date is derived from the age (same day and month
as the first date of service), which gives the age back exactly.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

SENDER, RECEIVER = "CLAIMRISK", "RECEIVER"
VERSION_837P, VERSION_837I, VERSION_835 = "005010X222A1", "005010X223A2", "005010X221A1"
VERSION_271 = "005010X279A1"
#: contract payer type → SBR09 claim filing indicator (inverse of the reader's map)
TYPE_FILING_INDICATOR = {
    "medicare": "MB",
    "medicare_advantage": "16",
    "medicaid": "MC",
    "commercial": "CI",
    "other": "ZZ",
}
#: claims per transaction set: large files stay in reasonable ST/SE units
CLAIMS_PER_TRANSACTION = 5000


def _d8(value: object) -> str:
    return pd.Timestamp(value).strftime("%Y%m%d")


def _money(value: float) -> str:
    text = f"{float(value):.2f}".rstrip("0").rstrip(".")
    return text if text not in ("-0", "") else "0"


def _num(value: float) -> str:
    return f"{float(value):g}"


def _present(value: object) -> bool:
    return (
        value is not None and not (isinstance(value, float) and np.isnan(value)) and value == value
    )


def _seg(*elements: object) -> str:
    """One segment, trailing empty elements dropped (X12 forbids trailing separators)."""
    parts = ["" if e is None else str(e) for e in elements]
    while parts and parts[-1] == "":
        parts.pop()
    return "*".join(parts) + "~"


class Envelope:
    """ISA/GS/ST/SE/GE/IEA around transaction bodies, with correct counts and control numbers."""

    def __init__(
        self, functional_id: str, version: str, when: dt.datetime, control: int = 1
    ) -> None:
        self.functional_id, self.version, self.when = functional_id, version, when
        self.control = f"{control:09d}"  # ISA13: unique per interchange a sender sends

    def wrap(self, transaction: str, bodies: Iterable[list[str]]) -> str:
        date6, date8, time4 = (
            self.when.strftime("%y%m%d"),
            self.when.strftime("%Y%m%d"),
            self.when.strftime("%H%M"),
        )
        out = [
            "ISA*00*          *00*          *ZZ*"
            + SENDER.ljust(15)
            + "*ZZ*"
            + RECEIVER.ljust(15)
            + f"*{date6}*{time4}*^*00501*{self.control}*0*P*:~",
            _seg("GS", self.functional_id, SENDER, RECEIVER, date8, time4, "1", "X", self.version),
        ]
        count = 0
        for count, body in enumerate(bodies, start=1):
            control = f"{count:04d}"
            # ST03 (implementation convention) is used by the 837 and 271, not by the 835
            st = _seg("ST", transaction, control, self.version if transaction != "835" else "")
            out += [st, *body, _seg("SE", len(body) + 2, control)]
        out += [_seg("GE", count, "1"), _seg("IEA", "1", self.control)]
        return "\n".join(out) + "\n"

    def write(self, path: Path, transaction: str, bodies: Iterable[list[str]]) -> Path:
        """The interchange as a file at ``path`` (its folder made if need be)."""
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(self.wrap(transaction, bodies))
        return path


def _chunks(frame: pd.DataFrame, size: int) -> Iterable[pd.DataFrame]:
    for start in range(0, len(frame), size):
        yield frame.iloc[start : start + size]


def _claims_837(
    claims: pd.DataFrame, lines: pd.DataFrame, payers: pd.DataFrame, institutional: bool
) -> Iterable[list[str]]:
    payer = payers.set_index("payer_id")
    by_claim = {cid: grp for cid, grp in lines.groupby("claim_id", sort=False)}
    # BHT04 is the submission date of a whole transaction: one transaction per submission day
    chunks = (
        chunk
        for _, day in claims.groupby("submission_date", sort=True)
        for chunk in _chunks(day, CLAIMS_PER_TRANSACTION)
    )
    for chunk in chunks:
        when = _d8(chunk["submission_date"].iloc[0])
        body = [
            _seg("BHT", "0019", "00", "CLAIMRISK", when, "1200", "CH"),
            _seg("NM1", "41", "2", "CLAIMRISK EXPORT", "", "", "", "", "46", "CLAIMRISK"),
            _seg("PER", "IC", "EDI DESK", "TE", "5555550100"),
            _seg("NM1", "40", "2", "RECEIVER", "", "", "", "", "46", RECEIVER),
        ]
        hl = 0
        for c in chunk.itertuples(index=False):
            hl += 1
            billing_hl = hl
            body += [
                _seg("HL", billing_hl, "", "20", "1"),
                _seg("PRV", "BI", "PXC", c.provider_taxonomy),
                _seg("NM1", "85", "2", "BILLING PROVIDER", "", "", "", "", "XX", c.billing_npi),
                _seg("N3", "1 MAIN ST"),
                _seg("N4", "ANYTOWN", "CA", "900010001"),
                _seg("REF", "EI", "123456789"),
            ]
            hl += 1
            ptype = payer.loc[c.payer_id, "payer_type"] if c.payer_id in payer.index else "other"
            name = payer.loc[c.payer_id, "name"] if c.payer_id in payer.index else c.payer_id
            service_from = pd.Timestamp(c.service_date_from)
            birth = service_from - pd.DateOffset(years=int(c.patient_age))
            body += [
                _seg("HL", hl, billing_hl, "22", "0"),
                _seg("SBR", "P", "18", "", "", "", "", "", "", TYPE_FILING_INDICATOR[ptype]),
                _seg("NM1", "IL", "1", "PATIENT", "", "", "", "", "MI", c.patient_id),
                _seg("N3", "2 SIDE ST"),
                _seg("N4", "ANYTOWN", "CA", "900010001"),
                _seg("DMG", "D8", _d8(birth), c.patient_sex),
                _seg("NM1", "PR", "2", name, "", "", "", "", "PI", c.payer_id),
            ]
            facility = c.place_of_service
            body.append(
                _seg(
                    "CLM",
                    c.claim_id,
                    _money(c.total_charge),
                    "",
                    "",
                    f"{facility}:{'A' if institutional else 'B'}:{c.frequency_code}",
                    *(("", "A", "Y", "Y") if institutional else ("Y", "A", "Y", "Y")),
                )
            )
            span = f"{_d8(c.service_date_from)}-{_d8(c.service_date_to)}"
            if institutional:
                body.append(_seg("DTP", "434", "RD8", span))
                body.append(_seg("CL1", "1", "1", "01"))
            if _present(c.prior_auth_number):
                body.append(_seg("REF", "G1", c.prior_auth_number))
            if _present(c.original_claim_id):
                body.append(_seg("REF", "F8", c.original_claim_id))
            codes = str(c.diagnosis_codes).split("|")
            others = [f"ABF:{code}" for code in codes[1:]]
            if institutional:  # 837I: the principal diagnosis has an HI of its own
                body.append(_seg("HI", f"ABK:{codes[0]}"))
                if others:
                    body.append(_seg("HI", *others))
            else:
                body.append(_seg("HI", f"ABK:{codes[0]}", *others))
            if _present(c.rendering_npi):  # 837P 2310B rendering, 837I 2310A attending
                body.append(
                    _seg(
                        "NM1",
                        "71" if institutional else "82",
                        "1",
                        "RENDERING",
                        "PROVIDER",
                        "",
                        "",
                        "",
                        "XX",
                        c.rendering_npi,
                    )
                )
                if not institutional:
                    body.append(_seg("PRV", "PE", "PXC", c.provider_taxonomy))
            if bool(c.other_coverage):
                body += [
                    _seg("SBR", "S", "18", "", "", "", "", "", "", "CI"),
                    _seg("OI", "", "", "Y", "", "", "Y"),
                    _seg("NM1", "IL", "1", "PATIENT", "", "", "", "", "MI", c.patient_id),
                    _seg("NM1", "PR", "2", "OTHER PAYER", "", "", "", "", "PI", "OTHERPAYER"),
                ]
            for ln in by_claim.get(c.claim_id, pd.DataFrame()).itertuples(index=False):
                mods = [
                    m
                    for m in (ln.modifier_1, ln.modifier_2, ln.modifier_3, ln.modifier_4)
                    if _present(m)
                ]
                procedure = (
                    ":".join(["HC", str(ln.procedure_code), *mods])
                    if _present(ln.procedure_code)
                    else ""
                )
                body.append(_seg("LX", int(ln.line_number)))
                if institutional:
                    body.append(
                        _seg(
                            "SV2",
                            ln.revenue_code,
                            procedure,
                            _money(ln.line_charge),
                            "UN",
                            _num(ln.units),
                        )
                    )
                else:
                    pointers = (
                        str(ln.diagnosis_pointers) if _present(ln.diagnosis_pointers) else "1"
                    )
                    body.append(
                        _seg(
                            "SV1",
                            procedure,
                            _money(ln.line_charge),
                            "UN",
                            _num(ln.units),
                            "",
                            "",
                            pointers,
                        )
                    )
                    body.append(_seg("DTP", "472", "RD8", span))
        yield body


def write_837(
    tables: dict[str, pd.DataFrame],
    folder: Path,
    control: int = 1,
    when: dt.datetime = dt.datetime(2026, 1, 1, 12, 0),
    prefix: str = "claims",
) -> list[Path]:
    """One 837P file (professional claims) and one 837I file (institutional), if any, with
    interchange control numbers ``control`` and ``control + 1``."""
    folder.mkdir(parents=True, exist_ok=True)  # made even when there is nothing to write
    claims, lines, payers = tables["claims"], tables["claim_lines"], tables["payers"]
    written = []
    for offset, (kind, version, name) in enumerate(
        (
            ("professional", VERSION_837P, f"{prefix}_837p.x12"),
            ("institutional", VERSION_837I, f"{prefix}_837i.x12"),
        )
    ):
        subset = claims[claims["claim_type"] == kind]
        if subset.empty:
            continue
        bodies = _claims_837(
            subset,
            lines[lines["claim_id"].isin(subset["claim_id"])],
            payers,
            kind == "institutional",
        )
        envelope = Envelope("HC", version, when, control + offset)
        written.append(envelope.write(folder / name, "837", bodies))
    return written


#: 835 CLP06 has its own list: no CI; commercial claims report as PPO (12)
TYPE_FILING_INDICATOR_835 = {**TYPE_FILING_INDICATOR, "commercial": "12"}


def _cas(group: str, pairs: list[tuple[str, float]]) -> list[str]:
    """CAS segments of one group code: up to six reason/amount pairs each."""
    return [
        _seg("CAS", group, *(x for c, a in pairs[i : i + 6] for x in (c, _money(a), "")))
        for i in range(0, len(pairs), 6)
    ]


def _grouped_cas(rows: list[tuple]) -> list[str]:
    by_group: dict[str, list[tuple[str, float]]] = {}
    for _, group, carc, amount in rows:
        by_group.setdefault(group, []).append((carc, amount))
    return [s for group, pairs in by_group.items() for s in _cas(group, pairs)]


def _by_remit(frame: pd.DataFrame, columns: list[str]) -> dict[str, list[tuple]]:
    out: dict[str, list[tuple]] = {}
    for row in frame[["remit_id", *columns]].itertuples(index=False):
        number = None if pd.isna(row[1]) else int(row[1])
        out.setdefault(row[0], []).append((number, *row[2:]))
    return out


def _remits_835(tables: dict[str, pd.DataFrame]) -> Iterable[list[str]]:
    claims = {r.claim_id: r for r in tables["claims"].itertuples(index=False)}
    lines = {
        (r.claim_id, int(r.line_number)): r for r in tables["claim_lines"].itertuples(index=False)
    }
    payers = tables["payers"].set_index("payer_id")
    adjustments = _by_remit(
        tables["remit_adjustments"], ["line_number", "group_code", "carc", "amount"]
    )
    remarks = _by_remit(tables["remit_remarks"], ["line_number", "rarc"])
    for (payer_id, day), group in tables["remits"].groupby(["payer_id", "remit_date"], sort=True):
        date8 = _d8(day)
        paid = float(group["paid_amount"].sum())
        name = payers.loc[payer_id, "name"] if payer_id in payers.index else payer_id
        ptype = payers.loc[payer_id, "payer_type"] if payer_id in payers.index else "other"
        body = [
            _seg(
                "BPR",
                "I" if paid > 0 else "H",
                _money(paid),
                "C",
                "CHK" if paid > 0 else "NON",
                *([""] * 11),
                date8,
            ),
            _seg("TRN", "1", f"{payer_id}{date8}", "1999999999"),
            _seg("DTM", "405", date8),
            _seg("N1", "PR", name),
            _seg("N3", "1 PAYER PLAZA"),
            _seg("N4", "ANYTOWN", "CA", "900010001"),
            _seg("REF", "2U", payer_id),
            _seg("PER", "BL", "PROVIDER SERVICES", "TE", "5555550199"),
            _seg("N1", "PE", "PAYEE", "XX", "1234567893"),
            _seg("LX", "1"),
        ]
        for r in group.itertuples(index=False):
            claim = claims.get(r.claim_id)
            body.append(
                _seg(
                    "CLP",
                    r.claim_id,
                    r.claim_status_code,
                    _money(r.charge_amount),
                    _money(r.paid_amount),
                    _money(r.patient_responsibility) if _present(r.patient_responsibility) else "",
                    TYPE_FILING_INDICATOR_835[ptype],
                    r.payer_claim_control_number if _present(r.payer_claim_control_number) else "",
                    claim.place_of_service if claim is not None else "",
                    claim.frequency_code if claim is not None else "",
                )
            )
            adj = adjustments.get(r.remit_id, [])
            rem = remarks.get(r.remit_id, [])
            body += _grouped_cas([a for a in adj if a[0] is None])  # claim level, before NM1
            patient = claim.patient_id if claim is not None else "UNKNOWN"
            body.append(_seg("NM1", "QC", "1", "PATIENT", "", "", "", "", "MI", patient))
            claim_rem = [x[1] for x in rem if x[0] is None]
            for i in range(0, len(claim_rem), 5):
                body.append(_seg("MOA", "", "", *claim_rem[i : i + 5]))
            if claim is not None:  # the claim's dates: how a reused CLP01 is told apart
                body.append(_seg("DTM", "232", _d8(claim.service_date_from)))
                body.append(_seg("DTM", "233", _d8(claim.service_date_to)))
            numbers = sorted(
                {a[0] for a in adj if a[0] is not None} | {x[0] for x in rem if x[0] is not None}
            )
            for number in numbers:
                line = lines.get((r.claim_id, number))
                if line is not None and _present(line.procedure_code):
                    service = f"HC:{line.procedure_code}"
                elif line is not None and _present(line.revenue_code):
                    service = f"NU:{line.revenue_code}"
                else:
                    service = "HC:99199"
                line_adj = [a for a in adj if a[0] == number]
                charge = float(line.line_charge) if line is not None else 0.0
                units = _num(line.units) if line is not None else "1"
                adjusted = sum(a[3] for a in line_adj)
                body.append(
                    _seg("SVC", service, _money(charge), _money(charge - adjusted), "", units)
                )
                if claim is not None:
                    body.append(_seg("DTM", "472", _d8(claim.service_date_from)))
                body += _grouped_cas(line_adj)
                body.append(_seg("REF", "6R", number))
                for _, rarc in (x for x in rem if x[0] == number):
                    body.append(_seg("LQ", "HE", rarc))
        yield body


def write_835(
    tables: dict[str, pd.DataFrame],
    folder: Path,
    control: int = 3,
    when: dt.datetime = dt.datetime(2026, 1, 1, 12, 0),
    name: str = "remits_835.x12",
) -> Path:
    """One 835 file: a transaction per payer and remit date, every CAS and remark kept."""
    return Envelope("HP", VERSION_835, when, control).write(
        folder / name, "835", _remits_835(tables)
    )


def write_x12(tables: dict[str, pd.DataFrame], folder: Path) -> list[Path]:
    """The claims and their outcomes as 837P, 837I and 835 files in ``folder`` (interchanges
    1, 2 and 3); the eligibility responses are ``write_271``'s."""
    return [*write_837(tables, folder), write_835(tables, folder)]


def _response_271(row: Any, payer_name: str) -> list[str]:
    """One eligibility row as the segments of a 271 between ST and SE: one transaction set per
    response, since each has its own checked date (BHT04)."""
    body = [
        _seg("BHT", "0022", "11", row.response_id, _d8(row.checked_date), "1200"),
        _seg("HL", "1", "", "20", "1"),
        _seg("NM1", "PR", "2", payer_name, "", "", "", "", "PI", row.payer_id),
        _seg("HL", "2", "1", "21", "1" if _present(row.member_id) else "0"),
        _seg("NM1", "1P", "2", "CLAIMRISK PRACTICE", "", "", "", "", "XX", "1234567893"),
    ]
    reject = _seg("AAA", "N", "", row.reject_reason if _present(row.reject_reason) else "42", "C")
    if not _present(row.member_id):  # no member named: a receiver-level rejection
        return [*body, reject]
    body += [
        _seg("HL", "3", "2", "22", "0"),
        _seg("TRN", "2", row.response_id, "9CLAIMRISK"),
        _seg("NM1", "IL", "1", "MEMBER", "", "", "", "", "MI", row.member_id),
    ]
    if _present(row.patient_id) and row.patient_id != row.member_id:
        body.append(_seg("REF", "EJ", row.patient_id))
    if row.coverage_status == "rejected":
        return [*body, reject]
    for qualifier, value in (("346", row.plan_begin_date), ("347", row.plan_end_date)):
        if _present(value):
            body.append(_seg("DTP", qualifier, "D8", _d8(value)))
    return [*body, _seg("EB", "1" if row.coverage_status == "active" else "6", "", "30")]


def write_271(
    tables: dict[str, pd.DataFrame],
    folder: Path,
    control: int = 4,
    when: dt.datetime = dt.datetime(2026, 1, 1, 12, 0),
    name: str = "eligibility_271.x12",
) -> Path:
    """The ``eligibility`` table as one 271 file (005010X279A1), a transaction per response."""
    names = dict(zip(tables["payers"]["payer_id"], tables["payers"]["name"], strict=True))
    bodies = (
        _response_271(row, names.get(row.payer_id, row.payer_id))
        for row in tables["eligibility"].itertuples(index=False)
    )
    return Envelope("HB", VERSION_271, when, control).write(folder / name, "271", bodies)
