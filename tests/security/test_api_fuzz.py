"""Schemathesis against the project's own schema: no operation answers 500, every answer matches the schema.

Each operation gets a fixed number of generated requests (valid and
invalid), sent in-process with a key holding every scope.
"""

import os

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from omni.wsgi import application

# What the contract asks of every answer: never a 500, a documented status,
# the documented content type, and a body that matches its schema.
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]

EXAMPLES = int(os.environ.get("OMNI_FUZZ_EXAMPLES", "15"))


@pytest.fixture
def keep_connection():
    """Requests run in-process inside the test's transaction: Django must not close the connection after each
    (its own test client does the same)."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.mark.django_db(transaction=True)  # each request commits on its own, as on a real server
def test_no_operation_answers_500_or_outside_its_schema(api, keep_connection):
    schema = schemathesis.openapi.from_wsgi("/api/schema/?format=json", application)
    failures = []
    operations = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        operations += 1

        @given(case=operation.as_strategy())
        @settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        def check(case):
            case.call_and_validate(headers={"Authorization": f"Bearer {api.key}"}, checks=CHECKS)

        try:
            check()
        except BaseException as error:  # collect them all: one run shows every broken operation
            if isinstance(error, KeyboardInterrupt):
                raise
            failures.append(f"{operation.method.upper()} {operation.path}: {str(error)[:1500]}")
    assert operations >= 10
    assert not failures, "\n\n".join(failures)
