"""Property-based API testing with Schemathesis against the app's own OpenAPI schema.

Every documented operation gets generated requests (valid and invalid); no response may be a 5xx
and every response must match the schema (status, content type, body shape).
"""

from __future__ import annotations

import schemathesis
from schemathesis import GenerationMode
from hypothesis import HealthCheck, given, settings

from schemathesis.specs.openapi.checks import negative_data_rejection

from qa.server.app import create_app
from qa.engine import normalise_question
from tests.conftest import make_settings
from tests.fakes import HashEmbedder

EXAMPLES_PER_MODE = 150


def test_generated_requests_never_5xx_and_match_the_schema(tmp_path):
    from qa.indexing.build import run_build
    from qa.engine import QAEngine
    from qa.indexing.layout import load_index

    app_settings = make_settings(tmp_path, rate_limit="off",
                                 feedback_db_url=f"sqlite:///{tmp_path}/fb.sqlite3")
    embedder = HashEmbedder()
    run_build(app_settings, embedder=embedder)
    app = create_app(app_settings, QAEngine(load_index(app_settings.index_dir), embedder, app_settings))
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert {op.path for op in operations} >= {"/api/ask", "/healthz", "/readyz", "/api/feedback"}

    executed = {mode: 0 for mode in GenerationMode}
    for operation in operations:
        for mode in GenerationMode:  # schema-valid requests, then schema-violating ones
            if mode is GenerationMode.NEGATIVE and operation.method.upper() == "GET":
                continue  # parameterless GETs have nothing to violate
            @settings(max_examples=EXAMPLES_PER_MODE, deadline=None, database=None,
                      suppress_health_check=list(HealthCheck))
            @given(case=operation.as_strategy(generation_mode=mode))
            def check(case):
                executed[mode] += 1
                response = case.call()
                assert response.status_code < 500, (case.path, case.body, response.text[:300])
                if mode is GenerationMode.NEGATIVE:
                    # A schema-violating request must get a 4xx (413 and 408 included) — unless the
                    # documented normalisation (trim, strip control characters) makes it valid.
                    if response.status_code < 400:
                        assert case.path == "/api/ask", (case.path, case.body)
                        normalise_question(case.body["question"], app_settings.max_question_chars)
                    case.validate_response(response, excluded_checks=[negative_data_rejection])
                else:
                    case.validate_response(response)

            check()
    assert sum(executed.values()) >= 500, executed
    assert executed[GenerationMode.NEGATIVE] >= 200, executed
