"""The contract profile's scope: every leniency names a node that exists in openapi.yaml
and a constraint that node really has (so none silently stops applying), and the
inapplicable schemathesis checks are real check names."""

from __future__ import annotations

import pytest

from contract_tests.scope import LENIENCIES, NOT_APPLICABLE_CHECKS, resolve_pointer
from facematch_contract.document import Document


@pytest.mark.parametrize("leniency", LENIENCIES, ids=lambda leniency: leniency.pointer)
def test_each_leniency_lifts_a_constraint_the_contract_has(leniency) -> None:
    node = resolve_pointer(Document().document, leniency.pointer)
    assert set(leniency.keywords) & set(node), f"{leniency.pointer} has none of {leniency.keywords}"
    assert len(leniency.why) > 40


def test_a_moved_node_is_a_clear_error() -> None:
    with pytest.raises(KeyError, match=r"update contract_tests/scope\.py"):
        resolve_pointer(Document().document, "/components/schemas/NoSuchSchema")


def test_inapplicable_checks_are_schemathesis_checks() -> None:
    import schemathesis.specs.openapi.checks  # noqa: F401 - imported to register the OpenAPI checks
    from schemathesis.checks import CHECKS

    assert set(NOT_APPLICABLE_CHECKS) <= set(CHECKS.get_all_names())
