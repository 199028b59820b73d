"""The rules catalogue is stated three times for three readers - ``x-rules`` in openapi.yaml
(tools), the README's table (people) and the validator (the kit) - and they must agree on
the IDs, in order."""

from __future__ import annotations

import re

from facematch_contract.document import Document
from facematch_contract.rules import RULE_IDS

from .live import ROOT


def readme_rule_ids() -> list[str]:
    text = (ROOT / "README.md").read_text()
    section = text.split("## The contract's rules", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"^\| ([A-Z0-9]+-\d) \|", section, flags=re.M)


def test_x_rules_the_readme_and_the_validator_agree() -> None:
    x_rules = list(Document().document["x-rules"])
    assert x_rules == list(RULE_IDS)
    assert readme_rule_ids() == list(RULE_IDS)
