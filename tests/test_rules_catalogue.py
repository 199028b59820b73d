"""The rules catalogue is stated three times for three readers - ``x-rules`` in openapi.yaml
(tools), the README's table (people) and the validator (the kit) - and they must agree on
the IDs, in order. The kit's profile expectations (SEM-*, GOLD-*) are registered checks
too: the kit guide names exactly the ones registered."""

from __future__ import annotations

import re

from contract_tests.expectations import PROFILE_CHECKS, expectations_of
from facematch_contract.document import Document
from facematch_contract.rules import CATALOGUE, RULE_IDS, RULES

from .live import ROOT


def readme_rule_ids() -> list[str]:
    text = (ROOT / "README.md").read_text()
    section = text.split("## The contract's rules", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"^\| ([A-Z0-9]+-\d) \|", section, flags=re.M)


def test_x_rules_the_readme_and_the_validator_agree() -> None:
    x_rules = Document().document["x-rules"]
    assert list(x_rules) == list(RULE_IDS)
    assert readme_rule_ids() == list(RULE_IDS)
    assert all(isinstance(text, str) and text.strip() for text in x_rules.values()), "every x-rule says something"


def test_every_registered_rule_is_judged_and_described() -> None:
    assert [rule.id for rule in RULES] == list(CATALOGUE.ids) == list(RULE_IDS)
    assert len(set(RULE_IDS)) == len(RULE_IDS)
    for rule in RULES:
        assert rule.summary and rule.body.__doc__ and rule.body.__doc__.startswith(f"{rule.id}:"), rule.id


def test_the_kit_guide_names_exactly_the_registered_expectations() -> None:
    guide = (ROOT / "docs" / "contract-kit.md").read_text()
    named = sorted(set(re.findall(r"\b((?:SEM|GOLD)-\d)\b", guide)))
    assert named == sorted(PROFILE_CHECKS.ids)
    assert [c.id for c in expectations_of("golden")] == [
        "SEM-1",
        "SEM-2",
        "SEM-3",
        "SEM-4",
        "GOLD-1",
        "GOLD-2",
        "GOLD-3",
    ]
    assert expectations_of("contract") == []
