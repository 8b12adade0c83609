"""Property-based fuzzing of the API from its own OpenAPI document (schemathesis), as every role.

For each operation, schemathesis generates requests from the document (valid and invalid ones) and
sends each as every demo role's token and as nobody, to the test's own app (a fresh database with the
demo world): no answer may be a 5xx, and every answer must match the document (status code, content
type, headers, body schema), which schemathesis' default checks verify.

One default check is left out: ``positive_data_acceptance`` expects every schema-valid request to
succeed, but the document cannot express the domain's rules (a phone number's shape, an order that
exists, a company with a number range, a cursor this API handed out), which answer 404/409/422.
"""

import os

import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import positive_data_acceptance

from portal import create_app
from portal.config import TestConfig
from tests.api.conftest import ROLES, bearer

# Bounded so that one pass (SQLite or PostgreSQL) stays well under a minute on two cores.
MAX_EXAMPLES = int(os.environ.get("PORTAL_FUZZ_EXAMPLES", "12"))

# The document as the app serves it (loading it needs no database); requests go to each test's app.
schema = schemathesis.openapi.from_wsgi(
    "/api/v1/openapi.json", create_app(TestConfig, SQLALCHEMY_DATABASE_URI="sqlite://")
)


@schema.parametrize()
@settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.function_scoped_fixture],
)
def test_api_matches_its_document(case, app, api_world):
    for role in (None, *ROLES):
        headers = bearer(api_world["tokens"][role]) if role else {}
        case.call_and_validate(app=app, headers=headers, excluded_checks=[positive_data_acceptance])
