"""Code knowledge in one place: what a CARC means, what counts as a denial, code families.

The denial rule is the single definition every label in claimrisk comes from:

    A remit (835 claim payment, CLP) is a **denial** when the payer recognised no claim
    (CLP02 = 4), or when it paid nothing (CLP04 <= 0) and at least one adjustment has a
    denial-class reason: group CO, PI or OA with a CARC that is not a contractual write-down,
    patient cost share or informational code (``NOT_A_DENIAL``).

In 005010 remittances a denial is rarely CLP02 = 4 (that now means "patient not recognised");
most are CLP02 = 1/2/3 with zero payment and CAS lines, so the reason must be read from CAS
(X12 RFI 1423/1079, see ``../shared/domain/facts.md`` §6). The denial's category is the
category of its largest denial-class adjustment. A claim's outcome is its *first* remit that is
not a reversal (CLP02 = 22): the first-pass denial the model predicts.

The CARC → category map starts from the proposed map in ``../shared/domain/facts.md`` §5 and
uses only codes that are active; any denial-class CARC not listed falls in ``other``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np
import pandas as pd

from features.contract import CARC, DENIAL_CATEGORIES, GROUP_CODES, RARC
from features.lookup import first_position, stable_order, take

CARC_CATEGORY: dict[str, str] = {
    # eligibility: patient or coverage not valid on the date of service
    **dict.fromkeys(
        ["26", "27", "31", "32", "33", "177", "200", "140", "109", "B9"], "eligibility"
    ),
    # authorization / precertification / referral
    **dict.fromkeys(["197", "198", "284", "296", "302", "39", "288", "243"], "authorization"),
    # coding: procedure, modifier, diagnosis or units inconsistent
    **dict.fromkeys(["4", "5", "6", "7", "11", "146", "181", "182", "189", "199"], "coding"),
    # clinical review found the service not medically necessary
    **dict.fromkeys(["50", "150", "151", "167", "55", "56", "58"], "medical_necessity"),
    # records or information missing
    **dict.fromkeys(["16", "226", "252", "B12", "163"], "documentation"),
    "29": "timely_filing",
    "286": "timely_filing",
    "18": "duplicate",
    "B13": "duplicate",
    "22": "coordination_of_benefits",
    "24": "coordination_of_benefits",
    **dict.fromkeys(["96", "204", "49", "119", "35", "242"], "non_covered"),
    **dict.fromkeys(["97", "234", "236", "231"], "bundling"),
    **dict.fromkeys(["185", "B7", "170", "A1"], "other"),
}

#: The CARC an import writes for a denial whose export gives only its category (a reason text
#: mapped to "authorization", say): the code payers most often send for that reason. "other" is
#: A1, "claim/service denied", which names no sharper reason.
CATEGORY_CARC: dict[str, str] = {
    "eligibility": "27",
    "authorization": "197",
    "coding": "4",
    "medical_necessity": "50",
    "documentation": "16",
    "timely_filing": "29",
    "duplicate": "18",
    "coordination_of_benefits": "22",
    "non_covered": "96",
    "bundling": "97",
    "other": "A1",
}

#: CARCs that never make a remit a denial: contractual write-down (45), patient cost share
#: (1, 2, 3), sequestration (253), a reduction rather than a denial (59) and the informational
#: prior-payer adjustment a secondary payer reports (23; facts.md lists it under COB as
#: "informational", so we do not let it turn a fully paid-by-primary claim into a denial).
NOT_A_DENIAL: frozenset[str] = frozenset({"1", "2", "3", "45", "253", "59", "23", "94"})

#: CAS groups whose adjustments can be denials. PR moves the balance to the patient, which is a
#: cost-share decision, not a payer refusal of the claim.
DENIAL_GROUPS: frozenset[str] = frozenset({"CO", "PI", "OA"})

assert set(CARC_CATEGORY.values()) <= set(DENIAL_CATEGORIES)
assert all(CARC_CATEGORY[carc] == c for c, carc in CATEGORY_CARC.items())


def carc_category(carc: pd.Series) -> pd.Series:
    """Map CARC codes to denial categories; unknown denial-class codes become ``other``."""
    return carc.map(CARC_CATEGORY).fillna("other").astype("str")


def is_denial_adjustment(adjustments: pd.DataFrame) -> pd.Series:
    """True for CAS rows whose group and reason make them denial-class."""
    return adjustments["group_code"].isin(DENIAL_GROUPS) & ~adjustments["carc"].isin(NOT_A_DENIAL)


def denial_reason(adjustments: pd.DataFrame) -> pd.Series:
    """Each remit's reason CARC: its largest denial-class adjustment (remit_id → carc).

    Ties keep file order (stable sort), so a list of codes without amounts names its first
    denial-class code. Remits with no denial-class adjustment are absent from the result.
    """
    adj = adjustments.loc[is_denial_adjustment(adjustments), ["remit_id", "carc", "amount"]]
    adj = adj.sort_values("amount", ascending=False, kind="stable")  # largest first per remit
    return adj.drop_duplicates("remit_id").set_index("remit_id")["carc"]


def label_remits(remits: pd.DataFrame, adjustments: pd.DataFrame) -> pd.DataFrame:
    """Apply the denial rule to every remit.

    Returns one row per remit (same order) with ``remit_id``, ``denied``, ``denial_carc`` and
    ``denial_category`` (empty when not denied).
    """
    reason = denial_reason(adjustments)
    at = first_position(remits["remit_id"], reason.index.to_series())
    found = take(reason.to_numpy(dtype=object), at, None)
    carc = pd.Series(found, index=remits.index, dtype="str")
    status = remits["claim_status_code"]
    denied = (status == "4") | ((remits["paid_amount"] <= 0) & carc.notna() & (status != "22"))
    category = carc_category(carc)
    # CLP02 = 4 with no CAS reason: in 5010 that code means the patient was not recognised.
    category = category.where(carc.notna(), "eligibility")
    return pd.DataFrame(
        {
            "remit_id": remits["remit_id"].to_numpy(),
            "denied": denied.to_numpy(dtype=bool),
            "denial_carc": carc.where(denied).to_numpy(),
            "denial_category": category.where(denied).to_numpy(),
        },
        index=remits.index,
    )


#: An adjustment as people write it: ``CO-197``, ``PR-1`` or a bare CARC (``197``, group CO
#: assumed, as most denials are contractual); RARCs (``N54``, ``M127``, ``MA130``) are remarks.
#: Built from the contract's own group, CARC and RARC definitions.
ADJUSTMENT_CODE = f"(?:(?:{'|'.join(GROUP_CODES)})-)?(?:{CARC})|{RARC}"
_RARC = re.compile(RARC)


def denial_categories(code_lists: Sequence[Sequence[str]]) -> np.ndarray:
    """The denial category of each list of adjustment codes, by the one denial rule.

    Each list is read as one remit's CAS codes in file order, without amounts: the first
    denial-class code (group CO/PI/OA, CARC not in ``NOT_A_DENIAL``) names the category, as
    ``label_remits`` does on ties; RARCs are skipped; no denial-class code → ``other``.
    """
    rows: dict[str, list] = {"remit_id": [], "group_code": [], "carc": [], "amount": []}
    for i, codes in enumerate(code_lists):
        for code in codes:
            text = code.strip().upper()
            if _RARC.fullmatch(text):
                continue
            group, _, carc = text.rpartition("-")
            rows["remit_id"].append(i)
            rows["group_code"].append(group or "CO")
            rows["carc"].append(carc)
            rows["amount"].append(0.0)
    top = denial_reason(pd.DataFrame(rows))
    carc = pd.Series(np.arange(len(code_lists))).map(top)
    return carc_category(carc).to_numpy(dtype=object)


def initial_outcomes(remits: pd.DataFrame, adjustments: pd.DataFrame) -> pd.DataFrame:
    """Each claim's first-pass outcome: its earliest remit that is not a reversal.

    Returns one row per claim that has a remit: ``claim_id``, ``remit_id``, ``remit_date``,
    ``paid_amount``, ``denied``, ``denial_carc``, ``denial_category``.
    """
    labels = label_remits(remits, adjustments)
    frame = pd.concat(
        [
            remits[["claim_id", "remit_id", "remit_date", "paid_amount", "claim_status_code"]],
            labels.drop(columns="remit_id"),
        ],
        axis=1,
    )
    frame = frame[frame["claim_status_code"] != "22"]
    frame = frame.iloc[stable_order(frame, ["claim_id", "remit_date", "remit_id"])]
    first = frame.drop_duplicates("claim_id").drop(columns="claim_status_code")
    return first.reset_index(drop=True)


# --- code families used by the generator and the feature pipeline -----------------------------

#: NUCC taxonomy code → specialty name (the specialties the generator uses; unknown codes keep
#: their code as the name so that real data still gets a usable level).
TAXONOMY_SPECIALTY: dict[str, str] = {
    "207Q00000X": "family_medicine",
    "207R00000X": "internal_medicine",
    "225100000X": "physical_therapy",
    "111N00000X": "chiropractic",
    "2085R0202X": "radiology",
    "207X00000X": "orthopedic_surgery",
    "207RC0000X": "cardiology",
    "103T00000X": "behavioral_health",
    "291U00000X": "laboratory",
    "208VP0014X": "pain_medicine",
    "282N00000X": "hospital",
}


def specialty(taxonomy: pd.Series) -> pd.Series:
    """Specialty name for a taxonomy code; an unknown code stands for itself."""
    return taxonomy.map(TAXONOMY_SPECIALTY).fillna(taxonomy).astype("str")


# ICD-10-CM chapters by first letter; D and H split in two (WHO/CMS chapter ranges).
_ICD_CHAPTER_BY_LETTER = {
    "A": "01_infectious",
    "B": "01_infectious",
    "C": "02_neoplasms",
    "E": "04_endocrine",
    "F": "05_mental",
    "G": "06_nervous",
    "I": "09_circulatory",
    "J": "10_respiratory",
    "K": "11_digestive",
    "L": "12_skin",
    "M": "13_musculoskeletal",
    "N": "14_genitourinary",
    "O": "15_pregnancy",
    "P": "16_perinatal",
    "Q": "17_congenital",
    "R": "18_symptoms",
    "S": "19_injury",
    "T": "19_injury",
    "V": "20_external",
    "W": "20_external",
    "X": "20_external",
    "Y": "20_external",
    "Z": "21_factors",
    "U": "22_special",
}


def icd10_chapter(codes: pd.Series) -> pd.Series:
    """ICD-10-CM chapter of each code (no dot), e.g. ``M5450`` → ``13_musculoskeletal``."""
    codes = codes.fillna("").astype("str")
    letter = codes.str[:1]
    chapter = letter.map(_ICD_CHAPTER_BY_LETTER)
    number = pd.to_numeric(codes.str[1:3], errors="coerce")
    chapter = chapter.mask((letter == "D") & (number < 50), "02_neoplasms")
    chapter = chapter.mask((letter == "D") & (number >= 50), "03_blood")
    chapter = chapter.mask((letter == "H") & (number < 60), "07_eye")
    chapter = chapter.mask((letter == "H") & (number >= 60), "08_ear")
    return chapter.fillna("unknown").astype("str")


# CPT ranges (AMA section boundaries) for five-digit numeric codes; HCPCS Level II by letter.
_CPT_FAMILIES: tuple[tuple[int, int, str], ...] = (
    (100, 1999, "anesthesia"),
    (10004, 69990, "surgery"),
    (70010, 79999, "radiology"),
    (80047, 89398, "lab"),
    (90785, 90899, "psychiatry"),
    (92920, 93799, "cardiology"),
    (97010, 97799, "physical_medicine"),
    (98940, 98943, "chiropractic"),
    (90281, 99199, "medicine"),
    (99202, 99499, "evaluation_management"),
)
_HCPCS_FAMILIES = {
    "J": "drugs",
    "G": "procedures_professional",
    "A": "supplies",
    "E": "dme",
    "L": "orthotics",
    "Q": "temporary",
    "H": "behavioral_state",
}


def procedure_family(codes: pd.Series) -> pd.Series:
    """Coarse family of each CPT/HCPCS code, so an unseen code still says what kind it is."""
    codes = codes.fillna("").astype("str")
    out = pd.Series("unknown", index=codes.index, dtype="str")
    numeric = pd.to_numeric(codes.where(codes.str.fullmatch(r"\d{5}")), errors="coerce")
    # Later ranges are narrower sub-ranges of "medicine"; apply broad first, narrow after.
    for lo, hi, name in sorted(_CPT_FAMILIES, key=lambda r: r[1] - r[0], reverse=True):
        out = out.mask(numeric.between(lo, hi), name)
    letter = codes.str[:1]
    hcpcs = codes.str.fullmatch(r"[A-V]\d{4}")
    out = out.mask(hcpcs, letter.map(_HCPCS_FAMILIES).fillna("hcpcs_other"))
    out = out.mask(codes == "", "none")
    return out.astype("str")


def npi_check_digit_ok(npi: pd.Series) -> pd.Series:
    """Luhn check of 10-digit NPIs with the 80840 prefix (CMS NPI check digit rule)."""
    digits = npi.fillna("").astype("str")
    ok = digits.str.fullmatch(r"\d{10}")
    arr = np.zeros((len(digits), 10), dtype=np.int64)
    valid = digits[ok]
    if len(valid):
        arr[ok.to_numpy()] = np.frombuffer(
            "".join(valid.tolist()).encode(), dtype=np.uint8
        ).reshape(-1, 10) - ord("0")
    body = arr[:, :9]
    doubled = body[:, ::-1][:, ::2] * 2  # every other digit from the right of the 9-digit body
    doubled = doubled // 10 + doubled % 10
    total = 24 + doubled.sum(axis=1) + body[:, ::-1][:, 1::2].sum(axis=1)  # 24 = 80840 prefix
    check = (10 - total % 10) % 10
    return pd.Series(ok.to_numpy() & (check == arr[:, 9]), index=npi.index)


def npi_ok(npi: str) -> bool:
    """``npi_check_digit_ok`` for one NPI (the API checks claims one at a time)."""
    if len(npi) != 10 or not npi.isdigit():
        return False
    digits = [int(d) for d in npi]
    total = 24  # the 80840 prefix
    for i, d in enumerate(reversed(digits[:9])):
        total += (d * 2 // 10 + d * 2 % 10) if i % 2 == 0 else d
    return (10 - total % 10) % 10 == digits[9]
