"""The OpenAPI document is a contract the server keeps (issue 11, finding 5): schemathesis
generates requests from it (bounded examples) and finds no 5xx and no response, status
code or content type the document does not describe."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from stockfeatures.serving.http_app import create_app
from stockfeatures.serving.warm_up import warm_up_store
from tests.integration.serving.conftest import make_server

pytestmark = pytest.mark.integration

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_schema_conformance]


@pytest.fixture(scope="module")
def api_schema(stack):
    warm_up_store(stack.store, stack.warehouse, ["AAPL"])
    return schemathesis.openapi.from_asgi("/openapi.json", create_app(make_server(stack)))


OPERATIONS = [("/get-online-features", "POST"), ("/features/{ticker}", "GET"),
              ("/health", "GET"), ("/metrics", "GET"), ("/push", "POST")]


@pytest.mark.parametrize(("path", "method"), OPERATIONS)
def test_every_documented_operation_keeps_its_contract(api_schema, path, method):
    operation = api_schema[path][method]

    # Bounded: 40 examples an operation, derandomized so a failure reproduces.
    @given(case=operation.as_strategy())
    @settings(max_examples=40, deadline=None, derandomize=True, database=None,
              suppress_health_check=list(HealthCheck))
    def keeps_contract(case):
        case.call_and_validate(checks=CHECKS)

    keeps_contract()


def test_the_document_lists_exactly_these_operations(api_schema):
    listed = {(result.ok().path, result.ok().method.upper()) for result in api_schema.get_all_operations()}
    assert listed == set(OPERATIONS)


def test_request_body_of_online_reads_is_documented(stack):
    document = create_app(make_server(stack)).openapi()
    body = document["paths"]["/get-online-features"]["post"]["requestBody"]
    assert "entities" in body["content"]["application/json"]["schema"]["properties"]
