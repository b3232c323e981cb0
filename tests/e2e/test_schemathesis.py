"""Both running services answer exactly as openapi/*.yaml says: schemathesis against gunicorn.

Schemathesis generates requests from each document (valid ones and, in negative mode, ones the
document forbids) and checks every answer: no 5xx, a documented status, the documented content
type, body schema and headers. Bearer endpoints get a real user's access token, so the views
behind the token check are reached too. TOKENPAIR_FUZZ_EXAMPLES sets the examples per operation.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.e2e.harness import ROOT, Stack, bearer, running_stack, sign_up

EXAMPLES = int(os.environ.get("TOKENPAIR_FUZZ_EXAMPLES", "30"))
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
    negative_data_rejection,  # what the document forbids is refused with a 4xx
]
# A fixed seed and no example database: a failure reproduces on the next run and elsewhere.
CONFIG = {
    "seed": 20261202,
    "generation": {
        "max-examples": EXAMPLES,
        "deterministic": True,
        "database": "none",
        # The Authorization header is ours to choose (below): a random one only reaches the 401.
        "with-security-parameters": False,
    },
    "request-timeout": 10,
}


@pytest.fixture(scope="module")
def fuzzed_stack(site: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """One stack for the whole module: schemathesis's requests may change anything in it."""
    with running_stack(site, tmp_path_factory.mktemp("schemathesis")) as stack:
        yield stack


@pytest.fixture(scope="module")
def access_tokens(fuzzed_stack: Stack) -> dict[str, str]:
    """Real users' tokens: one with every scope, one that may only read, one to log out."""
    return {
        "writer": sign_up(fuzzed_stack)["access_token"],
        "reader": sign_up(fuzzed_stack, scope="notes:read")["access_token"],
        # logout-all ends every session of its caller: not the writer's, whose token must live.
        "logout_all": sign_up(fuzzed_stack)["access_token"],
    }


# Who calls: a user with every scope (mostly), a reader (403 on writes), nobody (401).
CALLERS = st.sampled_from(["writer", "writer", "writer", "reader", "nobody"])


def document(name: str) -> Any:
    """Load one service's document; the URL of the running service is given per call."""
    return schemathesis.openapi.from_path(
        ROOT / "openapi" / f"{name}.yaml", config=schemathesis.Config.from_dict(CONFIG)
    )


# Loaded eagerly from the files: each operation becomes its own test item.
auth_schema = document("auth")
resource_schema = document("resource")


def credentials(case: schemathesis.Case, caller: str, tokens: dict[str, str]) -> dict[str, str]:
    """Return the Authorization header *caller* sends with *case* (none for nobody)."""
    if caller == "nobody":
        return {}
    return bearer(tokens["logout_all" if case.path == "/auth/logout-all" else caller])


@auth_schema.parametrize()
@auth_schema.given(caller=CALLERS)
def test_the_auth_service_answers_as_its_openapi_document_says(
    case: schemathesis.Case, caller: str, fuzzed_stack: Stack, access_tokens: dict[str, str]
) -> None:
    case.call_and_validate(
        base_url=fuzzed_stack.auth.url,
        headers=credentials(case, caller, access_tokens),
        checks=CHECKS,
    )


@resource_schema.parametrize()
@resource_schema.given(caller=CALLERS)
def test_the_resource_service_answers_as_its_openapi_document_says(
    case: schemathesis.Case, caller: str, fuzzed_stack: Stack, access_tokens: dict[str, str]
) -> None:
    case.call_and_validate(
        base_url=fuzzed_stack.resource.url,
        headers=credentials(case, caller, access_tokens),
        checks=CHECKS,
    )
