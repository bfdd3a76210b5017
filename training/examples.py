"""Complete, valid example requests: shown in the OpenAPI docs and posted as-is by the tests.

Synthetic values only (no real patient, provider or payer): a physical-therapy claim to the
commercial payer whose policy on therapy codes the synthetic world changes, with no prior
authorization, so the example shows factors and actions.
"""

from __future__ import annotations

from typing import Any

CLAIM: dict[str, Any] = {
    "claim_id": "C-EXAMPLE-0001",
    "patient_id": "P-EXAMPLE-01",
    "payer_id": "COM01",
    "billing_npi": "1234567893",
    "rendering_npi": "1234567893",
    "provider_taxonomy": "225100000X",
    "claim_type": "professional",
    "place_of_service": "11",
    "frequency_code": "1",
    "original_claim_id": None,
    "service_date_from": "2025-12-01",
    "service_date_to": "2025-12-01",
    "submission_date": "2025-12-08",
    "total_charge": 360.0,
    "diagnosis_codes": "M5450|M6281",
    "patient_age": 58,
    "patient_sex": "F",
    "prior_auth_number": None,
    "eligibility_verified_date": None,
    "other_coverage": False,
    "lines": [
        {
            "line_number": 1,
            "procedure_code": "97110",
            "modifier_1": None,
            "modifier_2": None,
            "modifier_3": None,
            "modifier_4": None,
            "units": 3,
            "line_charge": 240.0,
            "diagnosis_pointers": "1:2",
            "revenue_code": None,
        },
        {
            "line_number": 2,
            "procedure_code": "97140",
            "modifier_1": "GP",
            "modifier_2": None,
            "modifier_3": None,
            "modifier_4": None,
            "units": 2,
            "line_charge": 120.0,
            "diagnosis_pointers": "1",
            "revenue_code": None,
        },
    ],
}

SCORE_REQUEST: dict[str, Any] = {"claims": [CLAIM], "explain": "all"}

RANK_REQUEST: dict[str, Any] = {
    "as_of": "2026-01-20",
    "capacity": 10,
    "denials": [
        {
            "claim": CLAIM,
            "carc_codes": ["CO-197", "N54"],
            "denied_amount": 360.0,
            "denial_date": "2026-01-05",
        },
        {
            "claim": {**CLAIM, "claim_id": "C-EXAMPLE-0002", "prior_auth_number": "PA7781234"},
            "carc_codes": ["CO-16"],
            "denied_amount": 360.0,
            "denial_date": "2025-12-28",
        },
    ],
}
