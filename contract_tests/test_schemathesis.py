"""Schemathesis against the facematch operation, with real photos and the rules as checks.

Only the operation tagged ``facematch`` is the vendor contract; the mock's own paths
(tagged ``mock``) are not checked here. Every response is judged by the catalogue's rules
(recorded for the report) and by schemathesis's own checks.
"""

from __future__ import annotations

import pytest
import schemathesis
from schemathesis.checks import CHECKS
from schemathesis.config import SchemathesisConfig

from facematch_contract.rules import Finding, Severity, curl_line

from . import SPEC_PATH, st_hooks
from .client import Client, reaching
from .profiles import KitConfig
from .recorder import Recorder, explain
from .scope import NOT_APPLICABLE_CHECKS, excused
from .session import CURRENT
from .st_case import StCase

# Registered by st_hooks; recorded through the recorder instead of failing inside schemathesis.
RULE_CHECKS = list(st_hooks.RULE_CHECKS.values())
TEST = "schemathesis"


def schemathesis_config(kit: KitConfig) -> SchemathesisConfig:
    return SchemathesisConfig.from_dict(
        {
            "seed": kit.seed,
            "base-url": kit.base_url,
            "generation": {"max-examples": kit.max_examples, "no-shrink": True, "database": "none"},
            "checks": {
                # A schema-valid photo may hold no usable face: 400 is the right answer for it.
                "positive_data_acceptance": {"expected-statuses": st_hooks.POSITIVE_DATA_STATUSES},
                **{name: {"enabled": False} for name in (*NOT_APPLICABLE_CHECKS, *kit.skip_st_checks)},
            },
            # The stateful phase needs links between operations; this API has one operation.
            "phases": {"stateful": {"enabled": False}},
        }
    )


# Built at import time from the kit's settings (known once pytest is configured).
if CURRENT.config is None:
    pytest.skip("the contract kit needs --facematch-base-url", allow_module_level=True)
schema = schemathesis.openapi.from_path(SPEC_PATH, config=schemathesis_config(CURRENT.config)).include(tag="facematch")


@schema.parametrize()
def test_schemathesis(case: StCase, kit: KitConfig, client: Client, recorder: Recorder) -> None:
    headers = {"Authorization": f"Bearer {kit.token}"}
    with reaching(kit.base_url + case.formatted_path, recorder, f"schemathesis {case.method} case", kit.timeout):
        response = case.call(base_url=kit.base_url, headers=headers, session=client.session, timeout=kit.timeout)
    exchange = st_hooks.exchange_from(case, response)
    record = recorder.add(TEST, None, exchange)
    builtin = enabled_builtin_checks(case)
    failures: list[Finding] = []
    try:
        case.validate_response(
            response,
            headers=headers,
            excluded_checks=RULE_CHECKS,
            transport_kwargs={"base_url": kit.base_url, "headers": headers},
        )
    except (AssertionError, BaseExceptionGroup) as error:
        failures = [
            Finding(name, Severity.FAIL, message)
            for name, message in describe(error)
            if not excused(name, case, response, kit.profile)
        ]
    recorder.add_tool_result(record, builtin, failures)
    problems = [f"{f.rule}: {f.message}" for f in failures]
    if record.failures:
        problems.insert(0, explain([record]))
    assert not problems, "\n".join([*problems, f"reproduce: {curl_line(exchange)}"])


def enabled_builtin_checks(case: StCase) -> list[str]:
    config = case.operation.schema.config.checks_config_for(operation=case.operation, phase=None)
    names = [name for name in CHECKS.get_all_names() if not name.startswith(st_hooks.RULE_CHECK_PREFIX)]
    return [name for name in names if getattr(config.get_by_name(name=name), "enabled", True)]


def describe(error: BaseException) -> list[tuple[str, str]]:
    """(check name, short message) for each failure schemathesis reported."""
    found = []
    for failure in getattr(error, "exceptions", None) or [error]:
        checks = getattr(failure, "checks", ()) or (type(failure).__name__,)
        title = getattr(failure, "title", "") or ""
        message = getattr(failure, "message", "") or str(failure)
        # One failure class serves the body and the header checks: name the header one by its title.
        name = "response_headers_conformance" if title.startswith("Response header") else checks[0]
        found.append((name, f"{title}: {message}".strip(": ")[:1000]))
    return found
