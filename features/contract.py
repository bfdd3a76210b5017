"""The canonical claimrisk tables, defined once.

Every part of claimrisk speaks these tables: the synthetic generator writes them, the X12 reader
produces them, the validator checks them, the feature pipeline reads them and the API's request
models are derived from them. A column is added here or nowhere.

Each :class:`Field` carries what the rest of the code needs to derive: its logical type (mapped to
one pandas dtype and one Arrow type), whether it may be empty, the code format it must match and
the fix to suggest when it does not. ``docs/data-contract.md`` is rendered from these definitions
(``claimrisk docs``), so the documentation cannot drift from the code.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

import pyarrow as pa

if TYPE_CHECKING:
    import pandas as pd

Kind = Literal["string", "int", "float", "date", "bool"]

#: One unit for every date column. Day precision is what claims carry; seconds keep pandas
#: arithmetic cheap and Parquet round trips exact.
DATE_DTYPE = "datetime64[s]"

# Code formats (regular expressions, full match). Kept here, beside the fields that use them.
NPI = r"[12]\d{9}"
TAXONOMY = r"\d{3}[0-9A-Z]{6}X"
ICD10_LIST = r"[A-TV-Z]\d[0-9A-Z]{1,5}(\|[A-TV-Z]\d[0-9A-Z]{1,5}){0,11}"
PROCEDURE = r"\d{4}[0-9A-Z]|[A-V]\d{4}"
MODIFIER = r"[0-9A-Z]{2}"
POS = r"\d{2}"
REVENUE = r"\d{4}"
POINTERS = r"([1-9]|1[0-2])(:([1-9]|1[0-2])){0,3}"
CARC = r"\d{1,3}|[A-Z]\d{1,2}"
RARC = r"(M|MA|N)\d{1,4}"
IDENT = r"[0-9A-Za-z][0-9A-Za-z\-_.]{0,49}"
#: Each format in words, for messages and docs (a regular expression is not an instruction).
FORMAT_WORDS = {
    NPI: "a 10-digit NPI starting with 1 or 2",
    TAXONOMY: "a 10-character NUCC taxonomy code ending in X",
    ICD10_LIST: "1 to 12 ICD-10-CM codes without dots, joined by |",
    PROCEDURE: "a 5-character CPT or HCPCS Level II code",
    MODIFIER: "a 2-character modifier",
    POS: "a 2-digit place-of-service code",
    REVENUE: "a 4-digit revenue code",
    POINTERS: "1 to 4 diagnosis positions (1-12) joined by :",
    CARC: "a claim adjustment reason code (1-3 digits, or a letter and 1-2 digits)",
    RARC: "a remark code (M, MA or N and digits)",
    IDENT: "up to 50 letters, digits, '-', '_' or '.', starting with a letter or digit",
}


def format_hint(pattern: str | None, value: object) -> str:
    """A fix for a value that breaks ``pattern``, where one is plain ('' otherwise)."""
    if pattern == ICD10_LIST and isinstance(value, str) and "." in value:
        return f"; remove the dots: {value.replace('.', '')}"
    if isinstance(value, str) and value != value.upper() and pattern in (PROCEDURE, MODIFIER):
        return f"; use capitals: {value.upper()}"
    return ""


#: Upper bounds that keep amounts finite and plausible: no professional or institutional claim
#: bills $100M, and a line of more than 10,000 units is a typing slip (X12 allows 15 digits).
MAX_DOLLARS = 99_999_999.99
MAX_UNITS = 10_000


@dataclass(frozen=True)
class Field:
    """One column: its meaning, type and the rules a value must follow."""

    name: str
    kind: Kind
    description: str
    required: bool = True
    pattern: str | None = None
    allowed: tuple[str, ...] | None = None
    minimum: float | None = None
    maximum: float | None = None
    example: str = ""
    x12: str = ""

    @property
    def pandas_dtype(self) -> str:
        """The one pandas dtype for this field everywhere (nullable ints/bools when optional)."""
        if self.kind == "string":
            return "str"
        if self.kind == "int":
            return "int64" if self.required else "Int64"
        if self.kind == "float":
            return "float64"
        if self.kind == "bool":
            return "bool" if self.required else "boolean"
        return DATE_DTYPE

    @property
    def arrow_type(self) -> pa.DataType:
        return {
            "string": pa.string(),
            "int": pa.int64(),
            "float": pa.float64(),
            "bool": pa.bool_(),
            "date": pa.date32(),
        }[self.kind]

    def expectation(self) -> str:
        """What a valid value looks like, in words a user can act on."""
        if self.allowed:
            return "one of " + ", ".join(self.allowed)
        parts = []
        if self.pattern:
            example = f" (e.g. {self.example})" if self.example else ""
            parts.append(FORMAT_WORDS.get(self.pattern, f"the format {self.pattern}") + example)
        if self.kind == "date":
            parts.append("an ISO date YYYY-MM-DD")
        elif self.kind in ("int", "float"):
            word = "a whole number" if self.kind == "int" else "a number"
            bounds = []
            if self.minimum is not None:
                bounds.append(f">= {self.minimum:,.10g}")
            if self.maximum is not None:
                bounds.append(f"<= {self.maximum:,.10g}")
            parts.append(word + (" " + " and ".join(bounds) if bounds else ""))
        elif self.kind == "bool":
            parts.append("true or false")
        return "; ".join(parts) or "a non-empty value"


@dataclass(frozen=True)
class Reference:
    """A foreign key: every value of ``column`` must exist in ``table.target``."""

    column: str
    table: str
    target: str


@dataclass(frozen=True)
class Table:
    """A canonical table: its fields, key and references to other tables."""

    name: str
    description: str
    fields: tuple[Field, ...]
    key: tuple[str, ...] = ()
    references: tuple[Reference, ...] = field(default_factory=tuple)
    #: An optional table may be absent from a dataset: it is read as empty, with a warning
    #: (a practice's export has no remark codes, and many have no appeals).
    required: bool = True

    @property
    def columns(self) -> list[str]:
        return [f.name for f in self.fields]

    def field(self, name: str) -> Field:
        for f in self.fields:
            if f.name == name:
                return f
        raise KeyError(f"{self.name} has no field {name!r}")

    def dtypes(self) -> dict[str, str]:
        return {f.name: f.pandas_dtype for f in self.fields}

    def shaped(self, frame: pd.DataFrame) -> pd.DataFrame:
        """``frame`` with this table's columns, in order, at their dtypes: for frames we draw
        ourselves (the generator), never a user's file (validation reads those field by field)."""
        return frame.reindex(columns=self.columns).astype(self.dtypes())

    def arrow_schema(self) -> pa.Schema:
        return pa.schema(
            [pa.field(f.name, f.arrow_type, nullable=not f.required) for f in self.fields]
        )


PAYER_TYPES = ("medicare", "medicare_advantage", "medicaid", "commercial", "other")
CLAIM_TYPES = ("professional", "institutional")
FREQUENCY_CODES = ("1", "7", "8")
SEXES = ("F", "M", "U")
GROUP_CODES = ("CO", "PR", "OA", "PI", "CR")
CLAIM_STATUS_CODES = ("1", "2", "3", "4", "19", "20", "21", "22", "23", "25")
APPEAL_OUTCOMES = ("overturned", "upheld", "pending")
#: How a boolean cell may be written (any case), wherever text becomes a bool: CSV tables,
#: custom feature columns, flat exports.
TRUE_WORDS = frozenset({"true", "t", "1", "y", "yes"})
FALSE_WORDS = frozenset({"false", "f", "0", "n", "no"})

#: Custom features: a claims table may carry extra columns named ``x_...`` (a practice's "in
#: network" or "referral on file" flag), typed bool, float or string. They travel with the claim
#: through validation, the feature pipeline, the model and its explanations, and arrive over
#: HTTP as the claim's ``extra`` object (``features.extras``).
EXTRA_PREFIX = "x_"
EXTRA_KINDS = ("bool", "float", "string")
EXTRA_NAME = r"x_[a-z][a-z0-9_]{0,40}"

#: Where a remit row came from (``remits.origin``): a payer's 835, or a flat export's outcome.
REMIT_ORIGINS = ("835", "import")

#: What an eligibility response says of the member's coverage (``eligibility.coverage_status``):
#: EB01 1-5 (active), 6-8 (inactive), or an AAA rejection (the payer could not answer: member
#: not found, provider not eligible for inquiries).
COVERAGE_STATUSES = ("active", "inactive", "rejected")
#: Where an eligibility row came from: a 271 file, a real-time check at scoring, an export.
ELIGIBILITY_SOURCES = ("271", "realtime", "import")

#: Why a claim was denied, in the words revenue-cycle teams use. Every CARC maps to one of these
#: (``features.codes.CARC_CATEGORY``); "other" collects codes with no sharper meaning.
DENIAL_CATEGORIES = (
    "eligibility",
    "authorization",
    "coding",
    "medical_necessity",
    "documentation",
    "timely_filing",
    "duplicate",
    "coordination_of_benefits",
    "non_covered",
    "bundling",
    "other",
)

PAYERS = Table(
    name="payers",
    description="Each payer (insurer or plan) with the limits that govern filing and appeals.",
    key=("payer_id",),
    fields=(
        Field(
            "payer_id",
            "string",
            "Payer identifier as it appears on claims.",
            pattern=IDENT,
            example="MCR01",
            x12="837 2010BB NM109; 835 1000A N104/REF*2U",
        ),
        Field("name", "string", "Payer name.", example="Medicare Part B", x12="837 2010BB NM103"),
        Field(
            "payer_type",
            "string",
            "Line of business; drives filing rules and denial behaviour.",
            required=False,
            allowed=PAYER_TYPES,
            x12="837 2000B SBR09 (claim filing indicator), mapped",
        ),
        Field(
            "timely_filing_days",
            "int",
            "Days from the service (through) date within which a "
            "claim must be filed; later claims are denied CO-29.",
            required=False,
            minimum=1,
            maximum=3650,
        ),
        Field(
            "appeal_window_days",
            "int",
            "Days from the remittance date within which a provider appeal must be filed.",
            required=False,
            minimum=1,
            maximum=3650,
        ),
    ),
)

CLAIMS = Table(
    name="claims",
    description="One row per submitted claim: the 837 claim header as the billing system sent it.",
    key=("claim_id",),
    references=(Reference("payer_id", "payers", "payer_id"),),
    fields=(
        Field(
            "claim_id",
            "string",
            "Patient control number; the remit echoes it (CLM01 = CLP01).",
            pattern=IDENT,
            example="C00012345",
            x12="837 2300 CLM01",
        ),
        Field(
            "patient_id",
            "string",
            "Stable patient identifier (synthetic or a hashed member id).",
            required=False,
            pattern=IDENT,
            example="P0004567",
            x12="837 2010BA NM109",
        ),
        Field(
            "payer_id",
            "string",
            "The payer billed; must exist in payers.",
            pattern=IDENT,
            example="MCR01",
            x12="837 2010BB NM109",
        ),
        Field(
            "billing_npi",
            "string",
            "Billing provider NPI (10 digits, valid check digit).",
            required=False,
            pattern=NPI,
            example="1234567893",
            x12="837 2010AA NM109",
        ),
        Field(
            "rendering_npi",
            "string",
            "Rendering provider NPI, when it differs from billing.",
            required=False,
            pattern=NPI,
            example="1234567893",
            x12="837 2310B NM109",
        ),
        Field(
            "provider_taxonomy",
            "string",
            "Provider specialty as a NUCC taxonomy code.",
            required=False,
            pattern=TAXONOMY,
            example="207Q00000X",
            x12="837 2000A PRV03",
        ),
        Field(
            "claim_type",
            "string",
            "837P professional or 837I institutional.",
            allowed=CLAIM_TYPES,
            x12="GS08 / ST03 implementation guide",
        ),
        Field(
            "place_of_service",
            "string",
            "Place of service code (professional) or facility "
            "type code, the first two digits of the type of bill (institutional).",
            required=False,
            pattern=POS,
            example="11",
            x12="837 2300 CLM05-1",
        ),
        Field(
            "frequency_code",
            "string",
            "1 original, 7 replacement, 8 void.",
            allowed=FREQUENCY_CODES,
            x12="837 2300 CLM05-3",
        ),
        Field(
            "original_claim_id",
            "string",
            "Payer claim control number of the claim a "
            "replacement or void corrects; needed with frequency 7 or 8.",
            required=False,
            pattern=IDENT,
            example="PCN998877",
            x12="837 2300 REF*F8",
        ),
        Field(
            "service_date_from",
            "date",
            "First date of service.",
            example="2024-03-01",
            x12="837 2300 DTP*434 (I) / 2400 DTP*472 (P)",
        ),
        Field(
            "service_date_to",
            "date",
            "Last date of service (the filing clock starts here).",
            example="2024-03-01",
            x12="837 2300 DTP*434 (I) / 2400 DTP*472 (P)",
        ),
        Field(
            "submission_date",
            "date",
            "Date the claim was sent to the payer.",
            example="2024-03-09",
            x12="837 BHT04",
        ),
        Field(
            "total_charge",
            "float",
            "Total billed charge; equals the sum of line charges.",
            minimum=0,
            maximum=MAX_DOLLARS,
            example="250.00",
            x12="837 2300 CLM02",
        ),
        Field(
            "diagnosis_codes",
            "string",
            "ICD-10-CM codes without the dot, primary first, separated by '|' (at most 12).",
            required=False,
            pattern=ICD10_LIST,
            example="M5450|M9903",
            x12="837 2300 HI (ABK/ABF, BK/BF)",
        ),
        Field(
            "patient_age",
            "int",
            "Patient age in years at the first date of service.",
            required=False,
            minimum=0,
            maximum=120,
            x12="837 2010BA DMG02 (derived)",
        ),
        Field(
            "patient_sex",
            "string",
            "Patient sex as billed.",
            required=False,
            allowed=SEXES,
            x12="837 2010BA DMG03",
        ),
        Field(
            "prior_auth_number",
            "string",
            "Prior authorization number, when one was obtained.",
            required=False,
            pattern=IDENT,
            example="PA7781234",
            x12="837 2300 REF*G1",
        ),
        Field(
            "eligibility_verified_date",
            "date",
            "Date eligibility was last verified (270/271) "
            "before submission; empty when not checked.",
            required=False,
            example="2024-02-27",
            x12="not in the 837: from the practice management system",
        ),
        Field(
            "other_coverage",
            "bool",
            "The patient has other insurance that may be primary.",
            required=False,
            example="false",
            x12="837 2320 loop present",
        ),
    ),
)

CLAIM_LINES = Table(
    name="claim_lines",
    description="Service lines of each claim (837 loop 2400).",
    key=("claim_id", "line_number"),
    references=(Reference("claim_id", "claims", "claim_id"),),
    fields=(
        Field(
            "claim_id",
            "string",
            "The claim this line belongs to.",
            pattern=IDENT,
            example="C00012345",
            x12="837 2300 CLM01",
        ),
        Field(
            "line_number",
            "int",
            "Line number within the claim, from 1.",
            minimum=1,
            maximum=999,
            x12="837 2400 LX01",
        ),
        Field(
            "procedure_code",
            "string",
            "CPT or HCPCS Level II code. May be empty on an "
            "institutional line that carries only a revenue code.",
            required=False,
            pattern=PROCEDURE,
            example="97110",
            x12="837 2400 SV101-2 / SV202-2",
        ),
        Field(
            "modifier_1",
            "string",
            "First procedure modifier.",
            required=False,
            pattern=MODIFIER,
            example="GP",
            x12="837 2400 SV101-3 / SV202-3",
        ),
        Field(
            "modifier_2",
            "string",
            "Second procedure modifier.",
            required=False,
            pattern=MODIFIER,
            example="59",
            x12="837 2400 SV101-4 / SV202-4",
        ),
        Field(
            "modifier_3",
            "string",
            "Third procedure modifier.",
            required=False,
            pattern=MODIFIER,
            example="XU",
            x12="837 2400 SV101-5 / SV202-5",
        ),
        Field(
            "modifier_4",
            "string",
            "Fourth procedure modifier.",
            required=False,
            pattern=MODIFIER,
            example="RT",
            x12="837 2400 SV101-6 / SV202-6",
        ),
        Field(
            "units",
            "float",
            "Units of service.",
            minimum=0,
            maximum=MAX_UNITS,
            example="2",
            x12="837 2400 SV104 / SV205",
        ),
        Field(
            "line_charge",
            "float",
            "Billed charge for the line.",
            minimum=0,
            maximum=MAX_DOLLARS,
            example="120.00",
            x12="837 2400 SV102 / SV203",
        ),
        Field(
            "diagnosis_pointers",
            "string",
            "Positions (1-12) in the claim's diagnosis list that support this line, ':'-separated.",
            required=False,
            pattern=POINTERS,
            example="1:2",
            x12="837 2400 SV107",
        ),
        Field(
            "revenue_code",
            "string",
            "Institutional revenue code.",
            required=False,
            pattern=REVENUE,
            example="0420",
            x12="837I 2400 SV201",
        ),
    ),
)

REMITS = Table(
    name="remits",
    description="One row per claim payment in an 835 (loop 2100): how the payer adjudicated it.",
    key=("remit_id",),
    references=(
        Reference("claim_id", "claims", "claim_id"),
        Reference("payer_id", "payers", "payer_id"),
    ),
    fields=(
        Field(
            "remit_id",
            "string",
            "Identifier of this claim payment record.",
            pattern=IDENT,
            example="R00012345",
            x12="file + position of 835 2100 CLP",
        ),
        Field(
            "claim_id",
            "string",
            "Patient control number echoed from the claim.",
            pattern=IDENT,
            example="C00012345",
            x12="835 2100 CLP01",
        ),
        Field(
            "payer_id",
            "string",
            "Payer that sent the remittance.",
            pattern=IDENT,
            example="MCR01",
            x12="835 1000A N104 / REF*2U",
        ),
        Field(
            "payer_claim_control_number",
            "string",
            "The payer's own number for the claim; replacements refer to it.",
            required=False,
            pattern=IDENT,
            example="PCN998877",
            x12="835 2100 CLP07",
        ),
        Field(
            "claim_status_code",
            "string",
            "CLP02: 1/2/3 processed as primary/secondary/"
            "tertiary, 4 denied (in 5010: patient not recognised), 22 reversal, ...",
            allowed=CLAIM_STATUS_CODES,
            x12="835 2100 CLP02",
        ),
        Field(
            "remit_date",
            "date",
            "Date of the remittance (production date).",
            example="2024-03-25",
            x12="835 DTM*405 / BPR16",
        ),
        Field(
            "charge_amount",
            "float",
            "Charge the payer adjudicated.",
            example="250.00",
            x12="835 2100 CLP03",
        ),
        Field(
            "paid_amount",
            "float",
            "Amount paid; negative on a reversal.",
            example="0.00",
            x12="835 2100 CLP04",
        ),
        Field(
            "patient_responsibility",
            "float",
            "Amount the patient owes.",
            required=False,
            example="0.00",
            x12="835 2100 CLP05",
        ),
        Field(
            "origin",
            "string",
            "Where this payment record came from: empty or 835 for a remittance; import for an "
            "outcome `claimrisk import flat` wrote from a practice-management export, which no "
            "payer sent.",
            required=False,
            allowed=REMIT_ORIGINS,
            x12="not in the 835: empty when read from one",
        ),
    ),
)


def _payment_keys(what: str) -> tuple[Field, Field]:
    """The two columns that tie a row to its claim payment (the 835's 2100 loop)."""
    return (
        Field(
            "remit_id",
            "string",
            f"The claim payment this {what} belongs to.",
            pattern=IDENT,
            example="R00012345",
        ),
        Field(
            "claim_id",
            "string",
            "Patient control number (CLP01) of that payment.",
            pattern=IDENT,
            example="C00012345",
            x12="835 2100 CLP01",
        ),
    )


REMIT_ADJUSTMENTS = Table(
    name="remit_adjustments",
    description="Claim adjustments (835 CAS), one row per group/reason/amount triplet, at claim "
    "level (line_number empty) or line level.",
    references=(Reference("remit_id", "remits", "remit_id"),),
    fields=(
        *_payment_keys("adjustment"),
        Field(
            "line_number",
            "int",
            "Claim line adjusted; empty for a claim-level CAS.",
            required=False,
            minimum=1,
            maximum=999,
            x12="835 2110 REF*6R or SVC order",
        ),
        Field(
            "group_code",
            "string",
            "CO contractual, PR patient, OA other, PI payer-initiated, CR correction (pre-5010).",
            allowed=GROUP_CODES,
            x12="835 CAS01",
        ),
        Field(
            "carc",
            "string",
            "Claim adjustment reason code.",
            pattern=CARC,
            example="197",
            x12="835 CAS02/05/08/11/14/17",
        ),
        Field(
            "amount", "float", "Adjusted amount.", example="250.00", x12="835 CAS03/06/09/12/15/18"
        ),
    ),
)

REMIT_REMARKS = Table(
    name="remit_remarks",
    description="Remittance advice remark codes (RARC) attached to a claim payment or line.",
    required=False,
    references=(Reference("remit_id", "remits", "remit_id"),),
    fields=(
        *_payment_keys("remark"),
        Field(
            "line_number",
            "int",
            "Claim line; empty for a claim-level remark.",
            required=False,
            minimum=1,
            maximum=999,
        ),
        Field(
            "rarc",
            "string",
            "Remittance advice remark code.",
            pattern=RARC,
            example="N386",
            x12="835 2100 MIA/MOA, 2110 LQ*HE",
        ),
    ),
)

APPEALS = Table(
    name="appeals",
    description="Appeals of denied claims and how they ended.",
    required=False,
    key=("appeal_id",),
    references=(Reference("claim_id", "claims", "claim_id"),),
    fields=(
        Field("appeal_id", "string", "Appeal identifier.", pattern=IDENT, example="A00000042"),
        Field(
            "claim_id", "string", "The denied claim appealed.", pattern=IDENT, example="C00012345"
        ),
        Field("appeal_date", "date", "Date the appeal was filed.", example="2024-04-20"),
        Field(
            "level",
            "int",
            "Appeal level (1 = first-level / redetermination).",
            minimum=1,
            maximum=5,
        ),
        Field("outcome", "string", "Result so far.", allowed=APPEAL_OUTCOMES),
        Field(
            "recovered_amount",
            "float",
            "Amount recovered; empty while pending.",
            required=False,
            minimum=0,
            example="180.00",
        ),
        Field(
            "resolved_date",
            "date",
            "Date the payer decided; empty while pending.",
            required=False,
            example="2024-06-02",
        ),
    ),
)

ELIGIBILITY = Table(
    name="eligibility",
    description="Eligibility responses (271s) the office received: what the payer said of a "
    "patient's coverage on the day it was checked. Features read the latest one before a claim's "
    "submission.",
    required=False,
    key=("response_id",),
    references=(Reference("payer_id", "payers", "payer_id"),),
    fields=(
        Field(
            "response_id",
            "string",
            "Identifier of this response.",
            pattern=IDENT,
            example="E00000042",
            x12="271 2000C/2000D TRN02, else file + position of the subscriber loop",
        ),
        Field(
            "patient_id",
            "string",
            "The patient, as the claims name them (empty when the response names no member, "
            "as a rejection of the inquiry itself does).",
            required=False,
            pattern=IDENT,
            example="P0004711",
            x12="271 2100C/2100D REF*EJ (patient account number), else the member id",
        ),
        Field(
            "payer_id",
            "string",
            "The payer that answered.",
            pattern=IDENT,
            example="COM01",
            x12="271 2100A NM109",
        ),
        Field(
            "member_id",
            "string",
            "The member id the payer knows the patient by.",
            required=False,
            example="M0004711",
            x12="271 2100C NM109 (MI)",
        ),
        Field(
            "checked_date",
            "date",
            "Day the payer answered: the response is known from this day on.",
            example="2024-03-01",
            x12="271 BHT04",
        ),
        Field(
            "coverage_status",
            "string",
            "What the payer said: active or inactive coverage, or rejected (no answer on coverage: "
            "the AAA reject reason says why).",
            allowed=COVERAGE_STATUSES,
            x12="271 EB01 (1-5 active, 6-8 inactive); AAA (rejected)",
        ),
        Field(
            "reject_reason",
            "string",
            "The payer's reject reason code when the inquiry was rejected (72 invalid member id, "
            "75 subscriber not found, 50 provider not eligible for inquiries).",
            required=False,
            pattern=r"[0-9A-Z]{2}",
            example="75",
            x12="271 AAA03",
        ),
        Field(
            "plan_begin_date",
            "date",
            "First day of the coverage the payer reports.",
            required=False,
            example="2024-01-01",
            x12="271 DTP*346/356 (or the start of DTP*291/307 RD8)",
        ),
        Field(
            "plan_end_date",
            "date",
            "Last day of the coverage, when the payer knows it (a termination on file).",
            required=False,
            example="2024-06-30",
            x12="271 DTP*347/357 (or the end of DTP*291/307 RD8)",
        ),
        Field("source", "string", "Where the response came from.", allowed=ELIGIBILITY_SOURCES),
    ),
)

#: The tables a claimrisk dataset holds, in load order (referenced tables first).
TABLES: dict[str, Table] = {
    t.name: t
    for t in (
        PAYERS,
        CLAIMS,
        CLAIM_LINES,
        REMITS,
        REMIT_ADJUSTMENTS,
        REMIT_REMARKS,
        APPEALS,
        ELIGIBILITY,
    )
}

#: Why each required column is required: what the denial rule, the time windows or the keys
#: cannot do without. Every other column may be empty or absent and then means "unknown": the
#: feature is missing, the row is kept, and ``claimrisk validate`` counts the rows that lack it.
WHY_REQUIRED: dict[str, str] = {
    "payers.payer_id": "the key claims and remits refer to; history and the worklist are per payer",
    "payers.name": "what the pages and letters call the payer (an import writes the payer column "
    "as it reads when the export has no other name)",
    "claims.claim_id": "the key that ties a claim to its lines, its outcome and its appeals",
    "claims.payer_id": "who decides the claim: the strongest single input, and the key of the "
    "filing and appeal limits",
    "claims.claim_type": "professional and institutional claims follow different filing clocks "
    "and edits (an export of one kind sets it once, with the map's defaults)",
    "claims.frequency_code": "a replacement or void is a different event from an original claim; "
    "without it a corrected claim reads as a duplicate (an export of originals sets 1 once)",
    "claims.service_date_from": "the first day of service, which the features measure from",
    "claims.service_date_to": "the last day of service: where the filing clock starts",
    "claims.submission_date": "the point in time of every feature (no outcome known after it may "
    "leak in) and what training's time windows split on",
    "claims.total_charge": "the dollars at stake: the worklist's value and the recovery amounts",
    "claim_lines.claim_id": "ties the line to its claim",
    "claim_lines.line_number": "orders the lines and ties line-level adjustments to them",
    "claim_lines.units": "what was billed: with the charge, the typical-charge features",
    "claim_lines.line_charge": "the line's dollars; the claim's total must balance them",
    "remits.remit_id": "the key adjustments and remarks refer to",
    "remits.claim_id": "ties the outcome to its claim",
    "remits.payer_id": "the payer that decided",
    "remits.claim_status_code": "the denial rule reads it (4 is a denial, 22 a reversal)",
    "remits.remit_date": "when the outcome became known: history counts it only after this day, "
    "and the appeal deadline runs from it",
    "remits.charge_amount": "what the payer adjudicated",
    "remits.paid_amount": "the denial rule: nothing paid on a claim the payer processed",
    "remit_adjustments.remit_id": "ties the adjustment to its payment",
    "remit_adjustments.claim_id": "ties the adjustment to its claim",
    "remit_adjustments.group_code": "the denial rule: a CO or PI adjustment is the payer's, PR "
    "the patient's",
    "remit_adjustments.carc": "the reason: the denial rule and the category read it",
    "remit_adjustments.amount": "how much the reason took: the main reason is the largest",
    "remit_remarks.remit_id": "ties the remark to its payment",
    "remit_remarks.claim_id": "ties the remark to its claim",
    "remit_remarks.rarc": "the remark itself",
    "appeals.appeal_id": "the appeal's key",
    "appeals.claim_id": "the denied claim appealed",
    "appeals.appeal_date": "when the appeal was filed",
    "appeals.level": "first-level appeals and later ones succeed at different rates",
    "appeals.outcome": "the recovery label itself",
    "eligibility.response_id": "the response's key",
    "eligibility.payer_id": "the payer that answered: a response is matched to a claim by patient "
    "and payer",
    "eligibility.checked_date": "the point in time: a response is read only by claims submitted on "
    "or after it",
    "eligibility.coverage_status": "what the payer said: the response's whole point",
    "eligibility.source": "a real-time check at scoring and the office's own checks are told apart",
}

#: Optional columns whose empty value means "not known" rather than something (an empty
#: prior_auth_number means no authorization; an empty patient_age means the export had none).
#: ``claimrisk validate`` warns with the count of rows that lack each of them.
UNKNOWN_WHEN_EMPTY: frozenset[str] = frozenset(
    {
        "payers.payer_type",
        "payers.timely_filing_days",
        "payers.appeal_window_days",
        "claims.patient_id",
        "claims.billing_npi",
        "claims.provider_taxonomy",
        "claims.place_of_service",
        "claims.diagnosis_codes",
        "claims.patient_age",
        "claims.patient_sex",
        "claims.other_coverage",
    }
)

TRUTH = Table(
    name="truth",
    description="Synthetic data only: the probabilities the generator drew outcomes from. No model "
    "or feature may read it; evaluation uses it to measure the gap to the best possible model.",
    key=("claim_id",),
    fields=(
        Field("claim_id", "string", "The claim.", pattern=IDENT),
        Field(
            "denial_probability",
            "float",
            "True probability the first remit is a denial.",
            minimum=0,
            maximum=1,
        ),
        Field(
            "category", "string", "Denial category drawn; empty when not denied.", required=False
        ),
        *(
            Field(f"p_{c}", "float", f"True P(category = {c} | denied).", minimum=0, maximum=1)
            for c in DENIAL_CATEGORIES
        ),
        Field(
            "overturn_probability",
            "float",
            "True probability an appeal of this claim's "
            "denial is won (defined for every claim as if denied).",
            minimum=0,
            maximum=1,
        ),
        Field(
            "recoverable_amount", "float", "Dollars an overturned appeal would recover.", minimum=0
        ),
        Field(
            "appeal_deadline",
            "date",
            "Last day to appeal the denial; empty when no remit.",
            required=False,
        ),
        Field("scenario_flag", "bool", "The claim falls under the scenario's policy change."),
    ),
)
