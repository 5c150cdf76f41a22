"""Property-based tests of the HTTP API against its own OpenAPI schema (schemathesis): no 5xx, every response
matches the schema, and with an API key set every operation refuses requests without it."""
from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (content_type_conformance, ignored_auth, response_schema_conformance,
                                               status_code_conformance)

import segmenter
from segmenter.http import SEED_RULES, create_app
from helpers import LiveServer

KEY = "schemathesis-key"
CHECKS = [not_a_server_error, response_schema_conformance, status_code_conformance, content_type_conformance]
FEW = settings(max_examples=15, deadline=None, derandomize=True,
               suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much,
                                      HealthCheck.function_scoped_fixture])


def _serve(tmp_path_factory, api_key: str):
    """A server over demo contacts (core and custom fields of every type) and a few saved segments."""
    url = f"sqlite:///{tmp_path_factory.mktemp('schemathesis') / 'segmenter.db'}"
    seg = segmenter.connect(url)
    seg.load_demo(200)
    for n in range(3):
        seg.create_segment(f"Active Enterprise {n}", SEED_RULES)
    seg.create_segment("everyone", [])
    return seg, LiveServer(create_app(seg, api_key=api_key))


@pytest.fixture(scope="module")
def open_schema(tmp_path_factory):
    seg, server = _serve(tmp_path_factory, api_key="")
    yield schemathesis.openapi.from_url(server.url + "/openapi.json")
    server.stop()
    seg.close()


@pytest.fixture(scope="module")
def keyed_schema(tmp_path_factory):
    seg, server = _serve(tmp_path_factory, api_key=KEY)
    config = schemathesis.config.SchemathesisConfig.from_dict({"auth": {"openapi": {"HTTPBearer": {"bearer": KEY}}}})
    yield schemathesis.openapi.from_url(server.url + "/openapi.json", config=config,
                                        headers={"Authorization": f"Bearer {KEY}"})
    server.stop()
    seg.close()


open_api = schemathesis.pytest.from_fixture("open_schema")
keyed_api = schemathesis.pytest.from_fixture("keyed_schema")


@open_api.parametrize()
@FEW
def test_no_server_errors_and_responses_match_the_schema(case):
    case.call_and_validate(checks=CHECKS)


@keyed_api.parametrize()
@FEW
def test_with_a_key_every_operation_enforces_it(case):
    # The config gives generated cases the key; the schema's own examples get it from ``headers``.
    response = case.call_and_validate(headers={"Authorization": f"Bearer {KEY}"}, checks=CHECKS + [ignored_auth])
    if case.meta is None or case.meta.generation.mode.value == "positive":  # negative cases may drop the header
        assert response.status_code != 401
    refused = case.call(headers={"Authorization": "Bearer not-the-key"})
    assert refused.status_code == 401 and refused.headers["www-authenticate"] == ["Bearer"]
