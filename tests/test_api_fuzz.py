"""A bounded schemathesis run against the app's own OpenAPI schema: no input gives a 5xx.

Valid requests (generated from the schema) for every operation, and invalid ones (schema
violations: wrong types, missing fields, bad formats) for the two request bodies.
"""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error

from serving.app import create_app
from serving.settings import Settings
from serving.state import load

KEY = "fuzz-key"
#: 837 bodies: random bytes, and X12-looking text cut anywhere (the reader must refuse, not fail).
ISA = (
    b"ISA*00*          *00*          *ZZ*SUBMITTER      *ZZ*RECEIVER       *250101*1200*^*00501"
    b"*000000001*0*P*:~GS*HC*S*R*20250101*1200*1*X*005010X222A1~ST*837*0001*005010X222A1~"
    b"BHT*0019*00*1*20250101*1200*CH~HL*1**20*1~HL*2*1*22*0~SBR*P*18*******CI~CLM*C1*100***11:B:1~"
)
schemathesis.openapi.media_type(
    "application/edi-x12",
    st.one_of(st.binary(max_size=300), st.integers(0, len(ISA)).map(lambda n: ISA[:n])),
)
#: Bounded: enough to reach every field of both request bodies, small enough for CI.
EXAMPLES_PER_OPERATION = 40


@pytest.mark.slow
def test_no_generated_input_makes_the_service_fail(trained):
    app = create_app(Settings(api_keys=KEY), load(str(trained[0].folder)))
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert {op.path for op in operations} >= {"/v1/claims/score", "/v1/worklist/rank"}
    bodies = {"/v1/claims/score", "/v1/claims/score/x12", "/v1/worklist/rank"}
    runs = [(op, schemathesis.GenerationMode.POSITIVE) for op in operations] + [
        (op, schemathesis.GenerationMode.NEGATIVE) for op in operations if op.path in bodies
    ]
    for operation, mode in runs:

        @given(case=operation.as_strategy(generation_mode=mode))
        @settings(
            max_examples=EXAMPLES_PER_OPERATION,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            derandomize=True,
            database=None,
        )
        def no_server_error(case: schemathesis.Case) -> None:
            case.call_and_validate(headers={"X-API-Key": KEY}, checks=[not_a_server_error])

        no_server_error()
