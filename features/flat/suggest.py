"""A draft column map from an export's headers and values (``import flat --suggest-map``).

Each contract field has the names exports commonly give it; a header is placed when its
normalised form (lower case, letters and digits only) is one of them. Status words, payer names
and reason texts are read from the values and placed by keywords. Every guess is written with a
comment saying what it was matched on, and whatever could not be placed is listed at the end, so
the person reviewing the draft knows exactly what to check. The draft is a starting point: the
import still checks every key (``features.flat.mapping``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import pandas as pd

from features.flat import values as v
from features.flat.build import payer_slug as _slug
from features.flat.read import FILE, LINE

#: Contract field → the header spellings exports use (normalised: lower case, alphanumerics).
SYNONYMS: dict[str, tuple[str, ...]] = {
    "claim_id": ("claim", "claimid", "claimno", "claimnumber", "claimnum", "clmno",
                 "patientcontrolnumber", "pcn", "encounterid", "invoice", "invoicenumber",
                 "ticketnumber", "claimidnumber"),
    "patient_id": ("patient", "patientid", "patientacct", "patientaccount", "acct", "account",
                   "accountnumber", "mrn", "memberid", "patientacctno", "patientnumber"),
    "payer_id": ("payer", "payerid", "payername", "insurance", "insurancename", "carrier",
                 "plan", "insurer", "primaryinsurance", "primarypayer", "financialclass"),
    "billing_npi": ("billingnpi", "npi", "groupnpi", "billingprovidernpi"),
    "rendering_npi": ("renderingnpi", "renderingprovidernpi", "providernpi", "rendernpi"),
    "provider_taxonomy": ("taxonomy", "taxonomycode", "specialtycode", "providertaxonomy"),
    "claim_type": ("claimtype", "formtype", "billtype"),
    "place_of_service": ("pos", "placeofservice", "poscode"),
    "frequency_code": ("freq", "frequency", "frequencycode", "claimfrequency", "resubmission"),
    "original_claim_id": ("originalclaim", "origclaim", "originalclaimnumber", "payerclaimnumber",
                          "origclaimno", "originalclaimno"),
    "service_date_from": ("dos", "servicedate", "dateofservice", "dosfrom", "fromdate", "from",
                          "servicefrom", "servicemonth", "visitdate", "encounterdate"),
    "service_date_to": ("dosto", "todate", "to", "servicedateto", "servicethrough", "throughdate"),
    "submission_date": ("datebilled", "billeddate", "billedon", "submitted", "submissiondate",
                        "submitdate", "claimdate", "datesubmitted", "filedate", "senddate"),
    "total_charge": ("billed", "charges", "charge", "totalcharge", "totalcharges", "billedamount",
                     "chargeamount", "amountbilled", "claimamount", "totalbilled"),
    "diagnosis_codes": ("diagnosis", "dx", "dxcodes", "icd10", "icd", "icdcodes", "diagnosiscodes",
                        "primarydiagnosis", "icd10codes"),
    "patient_age": ("age", "patientage"),
    "patient_birth_date": ("dob", "birthdate", "dateofbirth", "patientdob"),
    "patient_sex": ("sex", "gender", "patientsex", "patientgender"),
    "prior_auth_number": ("auth", "authnumber", "priorauth", "authorization",
                          "authorizationnumber", "priorauthnumber", "authno", "pa"),
    "eligibility_verified_date": ("eligchecked", "eligibilitydate", "eligibilityverified",
                                  "verifieddate", "eligdate"),
    "other_coverage": ("otherins", "otherinsurance", "secondaryinsurance", "cob", "hassecondary"),
    "line_number": ("line", "lineno", "linenumber", "seq", "lineseq"),
    "procedure_code": ("cpt", "cptcode", "procedure", "procedurecode", "hcpcs", "proc", "code",
                       "cpthcpcs", "service", "servicecode"),
    "modifier_1": ("mod1", "modifier", "modifier1", "mod"),
    "modifier_2": ("mod2", "modifier2"),
    "modifier_3": ("mod3", "modifier3"),
    "modifier_4": ("mod4", "modifier4"),
    "units": ("units", "unit", "qty", "quantity", "serviceunits"),
    "line_charge": ("linecharge", "linecharges", "linebilled", "lineamount", "servicecharge"),
    "diagnosis_pointers": ("dxptr", "dxpointer", "diagnosispointer", "pointers"),
    "revenue_code": ("rev", "revcode", "revenuecode"),
}  # fmt: skip
OUTCOME_SYNONYMS: dict[str, tuple[str, ...]] = {
    "status": ("status", "claimstatus", "paymentstatus", "isdenied", "denied", "outcome",
               "adjudicationstatus", "result"),
    "paid_amount": ("paid", "paidamount", "amountpaid", "payment", "linepaid", "paymentamount",
                    "insurancepaid", "totalpaid", "paidamt"),
    "decision_date": ("remitdate", "paiddate", "paymentdate", "checkdate", "denialdate",
                      "eradate", "adjudicationdate", "processeddate", "decisiondate"),
    "carc": ("carc", "carcs", "adjcodes", "adjustmentcodes", "reasoncode", "reasoncodes",
             "denialcode", "denialcodes", "cas", "carccode"),
    "reason": ("denialreason", "reason", "denialdescription", "reasondescription", "remark",
               "denialtext", "reasontext"),
}  # fmt: skip

#: Status words → outcome, by the first keyword found in the lower-cased word.
STATUS_WORDS = (
    ("partial", "partially_paid"),
    ("adjust", "partially_paid"),
    ("den", "denied"),
    ("reject", "denied"),
    ("true", "denied"),  # an is_denied column
    ("yes", "denied"),
    ("1", "denied"),
    ("paid", "paid"),
    ("pay", "paid"),
    ("closed", "paid"),
    ("false", "paid"),
    ("no", "paid"),
    ("0", "paid"),
    ("open", "pending"),
    ("pend", "pending"),
    ("submit", "pending"),
    ("process", "pending"),
)
#: Reason text keywords → denial category, first match wins (docs/import.md lists them).
REASON_WORDS = (
    ("timely", "timely_filing"),
    ("filing limit", "timely_filing"),
    ("duplicate", "duplicate"),
    ("authoriz", "authorization"),
    ("auth", "authorization"),
    ("referral", "authorization"),
    ("precert", "authorization"),
    ("eligib", "eligibility"),
    ("coverage terminated", "eligibility"),
    ("not covered on", "eligibility"),
    ("inactive", "eligibility"),
    ("member", "eligibility"),
    ("other insurance", "coordination_of_benefits"),
    ("primary", "coordination_of_benefits"),
    ("cob", "coordination_of_benefits"),
    ("coordination", "coordination_of_benefits"),
    ("medical necessity", "medical_necessity"),
    ("medically necessary", "medical_necessity"),
    ("necessity", "medical_necessity"),
    ("bundl", "bundling"),
    ("inclusive", "bundling"),
    ("ncci", "bundling"),
    ("modifier", "coding"),
    ("coding", "coding"),
    ("code", "coding"),
    ("diagnosis", "coding"),
    ("inconsistent", "coding"),
    ("non-covered", "non_covered"),
    ("non covered", "non_covered"),
    ("not covered", "non_covered"),
    ("exclu", "non_covered"),
    ("missing", "documentation"),
    ("record", "documentation"),
    ("documentation", "documentation"),
    ("information", "documentation"),
    ("attachment", "documentation"),
    ("denied", "other"),
    ("see remit", "other"),
)
PAYER_WORDS = (
    ("medicare advantage", "medicare_advantage"),
    ("advantage", "medicare_advantage"),
    ("senior", "medicare_advantage"),
    ("medicare", "medicare"),
    ("medicaid", "medicaid"),
    ("medi-cal", "medicaid"),
    ("chip", "medicaid"),
    ("blue", "commercial"),
    ("aetna", "commercial"),
    ("cigna", "commercial"),
    ("united", "commercial"),
    ("humana", "commercial"),
    ("commercial", "commercial"),
    ("marketplace", "commercial"),
    ("ppo", "commercial"),
    ("hmo", "commercial"),
    ("employer", "commercial"),
    ("workers comp", "other"),
)
#: At most this many distinct values are listed for payers, statuses and reasons.
MAX_VALUES = 60


def normalise(header: str) -> str:
    """``Claim #`` → ``claimno``; ``Date of Service`` → ``dateofservice``."""
    return re.sub(r"[^0-9a-z]", "", header.lower().replace("#", "no"))


@dataclass
class Draft:
    """What the suggestion placed and what it could not."""

    columns: dict[str, tuple[str, str]] = field(default_factory=dict)  # field → (header, why)
    outcome: dict[str, tuple[str, str]] = field(default_factory=dict)
    level: str = "claim"
    date_format: str | None = None
    month_only: list[str] = field(default_factory=list)
    statuses: dict[str, str] = field(default_factory=dict)
    reasons: dict[str, str] = field(default_factory=dict)
    payers: dict[str, str] = field(default_factory=dict)
    unplaced_headers: list[str] = field(default_factory=list)
    unplaced_values: list[str] = field(default_factory=list)
    denials: Draft | None = None  # the denials report's own placement
    denials_file: str = ""


def suggest(rows: pd.DataFrame, denials: pd.DataFrame | None = None) -> Draft:
    """Place the headers, then read the values the map needs listed (status, payer, reason).
    A second report (other headers) is read as the denials file, joined by its claim number."""
    draft = _suggest_one(rows)
    if denials is not None:
        draft.denials = _suggest_one(denials)
        draft.denials_file = str(denials[FILE].iloc[0]) if len(denials) else ""
        draft.reasons.update(draft.denials.reasons)
        draft.unplaced_values += draft.denials.unplaced_values
    return draft


def _suggest_one(rows: pd.DataFrame) -> Draft:
    draft = Draft()
    headers = [c for c in rows.columns if c not in (FILE, LINE)]
    for header in headers:
        key = normalise(header)
        placed = _place(key, SYNONYMS, draft.columns) or _place(
            key, OUTCOME_SYNONYMS, draft.outcome
        )
        if placed:
            placed[1][placed[0]] = (header, f"header {header!r} is a usual name for it")
        else:
            draft.unplaced_headers.append(header)
    ids = draft.columns.get("claim_id")
    if ids and rows[ids[0]].duplicated().any():
        draft.level = "line"
    _dates(rows, draft)
    _values(rows, draft)
    return draft


def _place(key: str, table: dict[str, tuple[str, ...]], taken: dict) -> tuple | None:
    for name, names in table.items():
        if name not in taken and key in names:
            return name, taken
    return None


def _dates(rows: pd.DataFrame, draft: Draft) -> None:
    """The date format that reads the most cells of the date columns; month-only columns apart."""
    dated = [h for n, (h, _) in {**draft.columns, **draft.outcome}.items() if "date" in n
             or n in ("service_date_from", "service_date_to", "decision_date")]  # fmt: skip
    best, best_read = None, -1
    for fmt in ("%m/%d/%Y", "%Y-%m-%d", "%m/%d/%y", "%d-%b-%Y", "%Y%m%d"):
        read = sum(int((~v.dates(rows[h], (fmt,))[1]).sum()) for h in dated)
        if read > best_read:
            best, best_read = fmt, read
    draft.date_format = best
    for h in dated:
        day_ok = (~v.dates(rows[h], (best,))[1]).all()
        if not day_ok and (~v.dates(rows[h], ("%Y-%m", "%m/%Y"))[1]).all():
            draft.month_only.append(h)


def _keyword(text: str, words: tuple[tuple[str, str], ...]) -> str | None:
    low = text.lower()
    return next((target for word, target in words if word in low), None)


def _distinct(rows: pd.DataFrame, header: str) -> list[str]:
    values = rows[header].str.strip()
    return [x for x in values[values != ""].value_counts().index.tolist()[:MAX_VALUES]]


def _values(rows: pd.DataFrame, draft: Draft) -> None:
    for name, target, words in (
        ("status", draft.statuses, STATUS_WORDS),
        ("reason", draft.reasons, REASON_WORDS),
    ):
        if name in draft.outcome:
            for word in _distinct(rows, draft.outcome[name][0]):
                found = _keyword(word, words) if not word.isdigit() or name == "status" else None
                if found:
                    target[word] = found
                else:
                    draft.unplaced_values.append(f"outcome {name} {word!r}")
    if "payer_id" in draft.columns:
        for name in _distinct(rows, draft.columns["payer_id"][0]):
            draft.payers[name] = _keyword(name, PAYER_WORDS) or ""


def render(draft: Draft, files: list[str]) -> str:
    """The draft as a YAML map, a comment on every guess (see docs/import.md)."""
    out = [
        "# claimrisk import map, drafted by `claimrisk import flat --suggest-map` from",
        f"# {', '.join(files)}. Every line below is a guess: check it, then import.",
        "version: 1",
        f"level: {draft.level}  # "
        + ("a claim number repeats: one row per service line" if draft.level == "line"
           else "each claim number appears once: one row per claim"),
        "columns:",
    ]  # fmt: skip
    out += [f"  {n}: {_q(h)}  # {why}" for n, (h, why) in draft.columns.items()]
    missing = [n for n in ("claim_id", "service_date_from", "payer_id") if n not in draft.columns]
    out += [f"  # {n}: ?  # REQUIRED: no header looked like it" for n in missing]
    out += _defaults(draft)
    out += ["dates:", f"  format: {_q(draft.date_format or '%m/%d/%Y')}  # reads the most cells"]
    if draft.month_only:
        out.append("  formats:  # these give only a month: read as its first day, and counted")
        out += [f'    {_q(h)}: "%Y-%m"' for h in draft.month_only]
    out.append("outcome:")
    out += [f"  {n}: {_q(h)}  # {why}" for n, (h, why) in draft.outcome.items()]
    if not draft.outcome:
        out[-1] += "  # nothing in the claims report: outcomes come from the denials report"
    if draft.statuses:
        out.append("  values:  # status word → paid, denied, partially_paid or pending")
        out += [f"    {_q(w)}: {o}  # matched a keyword" for w, o in draft.statuses.items()]
    if draft.denials is not None:
        out += _denials(draft.denials, draft.denials_file)
    if draft.reasons:
        out.append("reasons:  # reason text → a CARC (CO-197) or a category")
        out += [f"  {_q(t)}: {c}  # matched a keyword" for t, c in draft.reasons.items()]
    if draft.payers:
        out.append(
            "payers:  # name as exported → its id and type (add the filing and appeal limits)"
        )
        for name, ptype in draft.payers.items():
            guess = f", payer_type: {ptype}" if ptype else ""
            why = "type from the name" if ptype else "type unknown: fill it in or leave it out"
            out.append(f"  {_q(name)}: {{payer_id: {_slug(name)}{guess}}}  # {why}")
    out += _unplaced(draft)
    return "\n".join(out) + "\n"


def _denials(d: Draft, file: str) -> list[str]:
    key = d.columns.get("claim_id", ("?", "REQUIRED: no header looked like a claim number"))
    lines = [
        "denials:  # a second report: a claim it names was denied; the others were paid",
        f"  file: {_q(file)}",
        f"  key: {_q(key[0])}  # {key[1]}",
        "  columns:",
    ]
    lines += [f"    {n}: {_q(h)}  # {why}" for n, (h, why) in d.outcome.items()]
    if d.date_format:
        lines.append(f"  # its dates read best as {d.date_format}: add them under dates.formats")
    return lines


def _defaults(draft: Draft) -> list[str]:
    lines = []
    if "claim_type" not in draft.columns:
        lines.append("  claim_type: professional  # no claim type column: assumed professional")
    if "frequency_code" not in draft.columns:
        lines.append('  frequency_code: "1"  # no frequency column: assumed original claims')
    if "units" not in draft.columns:
        lines.append("  units: 1  # no units column: one unit a line")
    if "submission_date" not in draft.columns:
        lines.append("  submission_lag_days: 7  # no submission date: service end + 7 days (guess)")
    return ["defaults:", *lines] if lines else []


def _unplaced(draft: Draft) -> list[str]:
    lines = ["# Not placed (map them by hand, add them under extras: as x_... features, or leave "
             "them out):"]  # fmt: skip
    lines += [f"#   column {h!r}" for h in draft.unplaced_headers]
    lines += [f"#   {x}" for x in draft.unplaced_values]
    if len(lines) == 1:
        lines.append("#   nothing: every column and value was placed")
    return lines


def _q(text: str) -> str:
    """A YAML scalar that stays text (quotes when it needs them)."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'
