"""Coding rules a claim scrubber knows, defined once for the generator and the feature pipeline.

These are public payer rules, not secrets of the synthetic world: CMS requires therapy modifiers
(GP/GO/GN) on outpatient therapy codes, CPT requires modifier 25 on an E/M billed beside a minor
procedure, and NCCI pairs need a distinct-service modifier (59 or X{EPSU}) to be paid separately.
The generator uses them to decide which slips are defects; the feature pipeline uses them to flag
the same defects on any claim, synthetic or real.
"""

from __future__ import annotations

#: NCCI-style pairs: (column-2 code that needs a distinct-service modifier, column-1 code).
BUNDLED_PAIRS: tuple[tuple[str, str], ...] = (
    ("97140", "97530"),
    ("97140", "98940"),
    ("97140", "98941"),
    ("36415", "99214"),
)
DISTINCT_MODIFIERS: tuple[str, ...] = ("59", "XU", "XS", "XE", "XP")
#: Minor procedures that make a same-day E/M need modifier 25 to be paid separately.
MINOR_PROCEDURES: tuple[str, ...] = ("20610", "20552")
#: Outpatient therapy discipline modifiers (physical, occupational, speech therapy).
THERAPY_MODIFIERS: tuple[str, ...] = ("GP", "GO", "GN")
#: Codes billed with a side (RT/LT).
LATERAL_CODES: tuple[str, ...] = ("73560", "73721", "20610", "29881", "27447")
#: Chiropractic manipulative treatment codes; Medicare pays them only as active treatment (AT).
CHIROPRACTIC_MANIPULATION: tuple[str, ...] = ("98940", "98941", "98942")
