"""Static reference data for the synthetic world: specialties, visits, codes, payers.

Codes are real CPT/HCPCS, ICD-10-CM and NUCC taxonomy codes (numbers only; no licensed
descriptions). Charges are plausible billed amounts, not fee schedules. The structure, not the
exact numbers, is what matters: each rule below is a way a real claim gets denied, tied to fields
a model can see (see ``docs/synthetic-data.md``).
"""

from __future__ import annotations

from dataclasses import dataclass

# ---------------------------------------------------------------------------------------------
# Procedures


@dataclass(frozen=True)
class Procedure:
    """A billable code and the rules payers apply to it."""

    code: str
    charge: float  # median billed charge per unit
    units: tuple[int, int] = (1, 1)
    clinical_review: float = 0.0  # 0-1: how often payers review it for medical necessity
    pa_candidate: bool = False  # payers may put it on their prior-auth list
    therapy: bool = False  # needs modifier GP for government payers
    chiro_manipulation: bool = False  # needs AT (active treatment) for Medicare / MA
    em: bool = False  # evaluation & management: needs 25 beside a procedure
    dx_chapters: tuple[str, ...] = ()  # accepted primary-diagnosis chapters; () = any


_ANY: tuple[str, ...] = ()
_MSK = ("13_musculoskeletal", "19_injury", "06_nervous")
_CARDIO = ("09_circulatory", "18_symptoms", "04_endocrine")
_LAB = ("04_endocrine", "09_circulatory", "14_genitourinary", "18_symptoms", "10_respiratory")

PROCEDURES: dict[str, Procedure] = {
    p.code: p
    for p in (
        # evaluation and management
        Procedure("99203", 170, em=True),
        Procedure("99204", 260, em=True),
        Procedure("99213", 130, em=True),
        Procedure("99214", 190, em=True),
        Procedure("99215", 260, em=True),
        Procedure("99284", 900, em=True),
        Procedure("99396", 240, em=True, dx_chapters=("21_factors",)),
        Procedure("G0439", 180, em=True, dx_chapters=("21_factors",)),
        # laboratory and minor procedures
        Procedure("36415", 15),
        Procedure("80053", 45, dx_chapters=_LAB),
        Procedure("85025", 30, dx_chapters=_LAB),
        Procedure("83036", 40, dx_chapters=_LAB),
        Procedure("80061", 55, dx_chapters=_LAB),
        Procedure("81001", 20, dx_chapters=_LAB),
        Procedure("87086", 35, dx_chapters=_LAB),
        Procedure("87880", 40, dx_chapters=("10_respiratory",)),
        Procedure("93000", 60, dx_chapters=_CARDIO),
        Procedure("20610", 250, dx_chapters=_MSK),
        Procedure("J3301", 12, units=(4, 8)),
        Procedure("20552", 220, dx_chapters=_MSK),
        # imaging
        Procedure("71046", 90),
        Procedure("73560", 110, dx_chapters=_MSK),
        Procedure("77067", 260, dx_chapters=("21_factors",)),
        Procedure("72148", 1200, clinical_review=0.6, pa_candidate=True, dx_chapters=_MSK),
        Procedure(
            "70551",
            1300,
            clinical_review=0.6,
            pa_candidate=True,
            dx_chapters=("06_nervous", "18_symptoms", "02_neoplasms"),
        ),
        Procedure(
            "74177",
            950,
            clinical_review=0.5,
            pa_candidate=True,
            dx_chapters=("18_symptoms", "11_digestive", "02_neoplasms"),
        ),
        Procedure("73721", 1100, clinical_review=0.6, pa_candidate=True, dx_chapters=_MSK),
        # cardiology
        Procedure("93306", 700, clinical_review=0.4, pa_candidate=True, dx_chapters=_CARDIO),
        Procedure("93458", 6000, clinical_review=0.8, pa_candidate=True, dx_chapters=_CARDIO),
        # therapy and chiropractic
        Procedure("97161", 150, therapy=True, dx_chapters=_MSK),
        Procedure("97110", 60, units=(1, 4), therapy=True, dx_chapters=_MSK),
        Procedure("97140", 55, units=(1, 3), therapy=True, dx_chapters=_MSK),
        Procedure("97530", 65, units=(1, 3), therapy=True, pa_candidate=True, dx_chapters=_MSK),
        Procedure("97112", 62, units=(1, 2), therapy=True, pa_candidate=True, dx_chapters=_MSK),
        Procedure("98940", 70, chiro_manipulation=True, dx_chapters=_MSK),
        Procedure("98941", 85, chiro_manipulation=True, dx_chapters=_MSK),
        Procedure("97810", 95, dx_chapters=_MSK),
        # behavioural health
        Procedure("90791", 250, dx_chapters=("05_mental",)),
        Procedure("90834", 150, dx_chapters=("05_mental",)),
        Procedure("90837", 200, pa_candidate=True, dx_chapters=("05_mental",)),
        # surgery and interventional pain
        Procedure("29881", 4500, clinical_review=0.7, pa_candidate=True, dx_chapters=_MSK),
        Procedure("27447", 25000, clinical_review=0.9, pa_candidate=True, dx_chapters=_MSK),
        Procedure("64483", 1200, clinical_review=0.8, pa_candidate=True, dx_chapters=_MSK),
        Procedure("62323", 1100, clinical_review=0.8, pa_candidate=True, dx_chapters=_MSK),
    )
}

# Modifier and pairing rules (NCCI pairs, modifier 25, therapy modifiers): features/rules.py.

#: Codes some payers never pay: Medicare does not cover routine physicals or (in general)
#: acupuncture; commercial plans do not pay the Medicare-only annual wellness visit. (Medicare
#: also pays chiropractors for spinal manipulation only: a rule on the specialty, in claims.py.)
NON_COVERED_BY_TYPE: dict[str, tuple[str, ...]] = {
    "medicare": ("99396", "97810"),
    "medicare_advantage": ("97810",),
    "medicaid": ("97810", "G0439"),
    "commercial": ("G0439",),
    "other": ("G0439", "99396"),
}
#: Codes a commercial plan may exclude from its benefits (drawn per payer).
SOMETIMES_EXCLUDED = ("97810", "98941", "90837", "77067")

#: Diagnoses a careless coder puts first that no payer accepts as support for a procedure.
MISMATCH_DIAGNOSES = ("Z0000", "R69", "R5383")

# ---------------------------------------------------------------------------------------------
# Diagnoses by specialty (ICD-10-CM without the dot)

GENERAL_DX = (
    "E119",
    "I10",
    "E785",
    "J069",
    "J029",
    "K219",
    "N390",
    "R079",
    "R109",
    "F329",
    "M5450",
    "Z0000",
)

# ---------------------------------------------------------------------------------------------
# Specialties and the visits they bill


@dataclass(frozen=True)
class Specialty:
    name: str
    taxonomy: str
    share: float  # share of providers
    visits: tuple[tuple[tuple[str, ...], float], ...]  # (procedure codes, weight)
    diagnoses: tuple[str, ...]
    places: tuple[tuple[str, float], ...] = (("11", 1.0),)
    institutional: bool = False


SPECIALTIES: tuple[Specialty, ...] = (
    Specialty(
        "family_medicine",
        "207Q00000X",
        0.20,
        (
            (("99213",), 3.0),
            (("99214",), 3.0),
            (("99214", "36415", "80053"), 1.5),
            (("99213", "85025", "36415"), 1.0),
            (("99396",), 1.0),
            (("G0439",), 0.6),
            (("99214", "20610", "J3301"), 0.4),
            (("99215", "93000"), 0.4),
            (("99213", "87880"), 0.6),
            (("99203",), 0.6),
        ),
        GENERAL_DX,
        places=(("11", 0.9), ("02", 0.05), ("10", 0.05)),
    ),
    Specialty(
        "internal_medicine",
        "207R00000X",
        0.12,
        (
            (("99214",), 3.0),
            (("99215",), 1.0),
            (("99214", "36415", "80061", "83036"), 1.5),
            (("G0439",), 0.8),
            (("99396",), 0.5),
            (("99214", "93000"), 0.6),
            (("99204",), 0.4),
        ),
        (*GENERAL_DX, "I4891", "I2510"),
    ),
    Specialty(
        "physical_therapy",
        "225100000X",
        0.12,
        (
            (("97161",), 0.6),
            (("97110", "97140"), 3.0),
            (("97110", "97530", "97112"), 2.0),
            (("97140", "97530"), 1.2),
            (("97110",), 1.5),
        ),
        ("M5450", "M5416", "M25561", "M1711", "S83241A", "S134XXA", "M47816"),
    ),
    Specialty(
        "chiropractic",
        "111N00000X",
        0.08,
        ((("98940",), 3.0), (("98941",), 1.5), (("98940", "97140"), 1.2), (("97810",), 0.5)),
        ("M9903", "M9901", "M5450", "S134XXA", "M47816"),
    ),
    Specialty(
        "radiology",
        "2085R0202X",
        0.08,
        (
            (("71046",), 2.0),
            (("72148",), 1.2),
            (("70551",), 0.8),
            (("74177",), 0.8),
            (("73721",), 0.6),
            (("77067",), 1.2),
        ),
        ("M5416", "G43909", "R109", "M25561", "Z1231", "R079"),
        places=(("22", 0.5), ("11", 0.5)),
    ),
    Specialty(
        "orthopedic_surgery",
        "207X00000X",
        0.08,
        (
            (("99204",), 1.0),
            (("99214", "20610", "J3301"), 1.5),
            (("99213", "73560"), 1.5),
            (("29881",), 0.5),
            (("27447",), 0.15),
            (("99214",), 1.0),
        ),
        ("M1711", "M25561", "S83241A", "M5416"),
        places=(("11", 0.85), ("24", 0.15)),
    ),
    Specialty(
        "cardiology",
        "207RC0000X",
        0.08,
        (
            (("99214", "93000"), 2.0),
            (("93306",), 1.0),
            (("93458",), 0.15),
            (("99213",), 1.5),
            (("99204",), 0.5),
        ),
        ("I10", "I4891", "I2510", "R079", "R0602", "R9431"),
    ),
    Specialty(
        "behavioral_health",
        "103T00000X",
        0.10,
        ((("90834",), 3.0), (("90837",), 2.0), (("90791",), 0.7)),
        ("F329", "F411", "F4310"),
        places=(("11", 0.6), ("02", 0.2), ("10", 0.2)),
    ),
    Specialty(
        "laboratory",
        "291U00000X",
        0.05,
        (
            (("80053", "85025"), 2.0),
            (("83036",), 1.0),
            (("87086",), 1.0),
            (("80061",), 1.0),
            (("81001",), 0.8),
        ),
        ("E119", "E785", "N390", "Z0000", "I10"),
        places=(("81", 1.0),),
    ),
    Specialty(
        "pain_medicine",
        "208VP0014X",
        0.04,
        ((("64483",), 1.5), (("62323",), 1.0), (("99214", "20552"), 1.0), (("99214",), 1.5)),
        ("M5416", "M47816", "G8929", "M5450"),
    ),
    Specialty(
        "hospital",
        "282N00000X",
        0.05,
        (
            (("0450:99284", "0300:80053", "0320:71046"), 2.0),
            (("0450:99284",), 2.0),
            (("0360:29881", "0250:J3301"), 0.6),
            (("0610:70551",), 0.8),
            (("0120:", "0250:J3301", "0300:85025"), 0.6),
        ),
        ("R079", "R109", "S83241A", "M1711", "G43909", "J069"),
        places=(("13", 0.85), ("11", 0.15)),
        institutional=True,
    ),
)

#: Revenue code 0120 (room and board) carries a charge per day and no procedure code.
ROOM_AND_BOARD_PER_DAY = 2800.0

# ---------------------------------------------------------------------------------------------
# Payers


@dataclass(frozen=True)
class PayerSpec:
    payer_id: str
    name: str
    payer_type: str
    share: float  # share of patients
    timely_filing_days: int
    appeal_window_days: int
    adjudication_days: float  # median days from submission to remittance
    allowed_ratio: float  # allowed amount / billed charge
    patient_share: float  # share of the allowed amount the patient owes
    strictness_sd: float = 0.2  # spread of this payer's hidden strictness


PAYERS: tuple[PayerSpec, ...] = (
    PayerSpec("MCR01", "Medicare Part B", "medicare", 0.25, 365, 120, 14, 0.20, 0.20),
    PayerSpec(
        "MA01", "Sunrise Medicare Advantage", "medicare_advantage", 0.07, 365, 60, 18, 0.22, 0.10
    ),
    PayerSpec("MA02", "Harbor Senior Plan", "medicare_advantage", 0.05, 365, 60, 21, 0.22, 0.10),
    PayerSpec("MA03", "Keystone Advantage", "medicare_advantage", 0.03, 365, 65, 16, 0.23, 0.12),
    PayerSpec("MCD01", "State Medicaid", "medicaid", 0.08, 180, 120, 25, 0.15, 0.0),
    PayerSpec("MCD02", "Community Care Medicaid Plan", "medicaid", 0.07, 95, 60, 20, 0.16, 0.0),
    PayerSpec("COM01", "Granite Health", "commercial", 0.12, 90, 180, 12, 0.45, 0.20, 0.35),
    PayerSpec("COM02", "Bluewater PPO", "commercial", 0.09, 90, 60, 15, 0.50, 0.20, 0.35),
    PayerSpec("COM03", "Meridian Choice", "commercial", 0.07, 180, 90, 17, 0.42, 0.25, 0.35),
    PayerSpec("COM04", "Pioneer Health Plan", "commercial", 0.05, 120, 180, 10, 0.48, 0.20, 0.35),
    PayerSpec("COM05", "Summit Employers Trust", "commercial", 0.04, 90, 120, 14, 0.55, 0.15, 0.35),
    PayerSpec("COM06", "Lakeside Marketplace", "commercial", 0.03, 180, 90, 19, 0.40, 0.30, 0.35),
    PayerSpec("OTH01", "Statewide Workers Compensation", "other", 0.05, 365, 180, 30, 0.60, 0.0),
)
