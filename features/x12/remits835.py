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

from features.x12.claims837 import x12_date
from features.x12.segments import ParsedFile

#: MIA / MOA elements that carry remark codes.
MIA_REMARKS = (5, 20, 21, 22, 23)
MOA_REMARKS = (3, 4, 5, 6, 7)


def _amount(value: str) -> float:
    try:
        return float(value)
    except ValueError:
        return 0.0


@dataclass
class Remits835:
    remits: list[dict[str, Any]] = field(default_factory=list)
    adjustments: list[dict[str, Any]] = field(default_factory=list)
    remarks: list[dict[str, Any]] = field(default_factory=list)
    payers: dict[str, dict[str, Any]] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)


def read_835(parsed: ParsedFile, prefix: str) -> Remits835:
    """``prefix`` makes remit ids unique across files (``<prefix>-<CLP position>``)."""
    out = Remits835()
    remit_date = payer_id = payer_name = ""
    remit: dict[str, Any] | None = None
    line_no: int | None = None
    svc_count = 0
    for seg in parsed.segments:
        sid = seg.id
        if sid == "ST":
            remit_date = payer_id = payer_name = ""
            remit = None
        elif sid == "BPR":
            remit_date = x12_date(seg[16]) or remit_date
        elif sid == "DTM" and seg[1] == "405" and remit is None:
            remit_date = x12_date(seg[2]) or remit_date
        elif sid == "N1" and seg[1] == "PR":
            payer_name, payer_id = seg[2], seg[4] or payer_id
        elif sid == "REF" and seg[1] == "2U" and remit is None:
            payer_id = seg[2]
        elif sid == "CLP":
            # a payer without an id (N104 / REF*2U) is keyed by its name, made id-safe
            pid = payer_id or re.sub(r"[^0-9A-Za-z\-_.]+", "_", payer_name).strip("_") or "UNKNOWN"
            out.payers.setdefault(pid, {"payer_id": pid, "name": payer_name or pid})
            if not remit_date:
                out.problems.append(
                    f"segment {seg.position}: no remit date (DTM*405 or BPR16) before this CLP"
                )
            remit = {
                "remit_id": f"{prefix}-{seg.position}",
                "claim_id": seg[1],
                "payer_id": pid,
                "payer_claim_control_number": seg[7] or None,
                "claim_status_code": seg[2],
                "remit_date": remit_date or None,
                "charge_amount": _amount(seg[3]),
                "paid_amount": _amount(seg[4]),
                "patient_responsibility": _amount(seg[5]) if seg[5] else None,
                "_source": f"{parsed.path.name} segment {seg.position}",
                "_service_date": None,  # DTM*232, else the first line's DTM*472: for matching
            }
            out.remits.append(remit)
            line_no, svc_count = None, 0
        elif remit is None:
            continue
        elif sid == "DTM" and seg[1] in ("232", "472") and not remit["_service_date"]:
            remit["_service_date"] = x12_date(seg[2])
        elif sid == "SVC":
            svc_count += 1
            line_no = svc_count
        elif sid == "REF" and seg[1] == "6R" and line_no is not None:
            digits = "".join(ch for ch in seg[2] if ch.isdigit())
            line_no = int(digits) if digits and len(digits) <= 3 else line_no
        elif sid == "CAS":
            group = seg[1]
            for k in range(2, 19, 3):  # up to six reason/amount/quantity triplets
                carc = seg[k]
                if not carc:
                    continue
                out.adjustments.append(
                    {
                        "remit_id": remit["remit_id"],
                        "claim_id": remit["claim_id"],
                        "line_number": line_no,
                        "group_code": group,
                        "carc": carc,
                        "amount": _amount(seg[k + 1]),
                    }
                )
        elif sid in ("MIA", "MOA") and line_no is None:
            for k in MIA_REMARKS if sid == "MIA" else MOA_REMARKS:
                if seg[k]:
                    out.remarks.append(
                        {
                            "remit_id": remit["remit_id"],
                            "claim_id": remit["claim_id"],
                            "line_number": None,
                            "rarc": seg[k],
                        }
                    )
        elif sid == "LQ" and seg[1] == "HE":
            out.remarks.append(
                {
                    "remit_id": remit["remit_id"],
                    "claim_id": remit["claim_id"],
                    "line_number": line_no,
                    "rarc": seg[2],
                }
            )
        elif sid in ("SE", "PLB"):
            remit = None
    return out
