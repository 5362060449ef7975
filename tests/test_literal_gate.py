"""The literal gate in front of the triage rules may let extra patterns through, never hide a match."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from qa.safety.literal_gate import LiteralGate, required_literals
from qa.safety.rules import RuleSet, normalise_for_rules
from qa.settings import PACKAGE_DATA

RULES = RuleSet.from_file(PACKAGE_DATA / "triage_rules.yaml")
CASES = Path(__file__).parent / "data" / "safety_cases.jsonl"


@pytest.mark.parametrize(("pattern", "expected"), [
    (r"\bfever\b", {"fever"}),
    (r"\b(fever|pyrexia)\b", {"fever", "pyrexia"}),
    (r"(foo)?bar", {"bar"}),
    (r"(foo|)bar", {"bar"}),
    (r"my \w+ (is|was) sick", {" sick"}),  # the longest required piece is chosen
    (r"(a|bb)c?", {"a", "bb"}),
    (r"(?i:fever) now", {" now"}),  # the flagged group counts for nothing, the rest still does
])
def test_required_literals_read_from_the_parse_tree(pattern, expected):
    assert required_literals(re.compile(pattern)) == expected


@pytest.mark.parametrize("pattern", [
    r"(?i)fever",     # case-insensitive: its letters are not literal
    r"(?i:fever)",    # nor in a group with its own flags
    r"x?",
    r"\w+",
    r"(fever|\d+)",   # one alternative requires nothing
    r"[a-z]{3}",
])
def test_unknown_constructs_require_nothing_so_the_pattern_is_always_searched(pattern):
    compiled = re.compile(pattern)
    assert required_literals(compiled) is None
    assert LiteralGate([compiled]).always_searched == {0}
    assert LiteralGate([compiled]).possible("") == {0}


def _shipped_patterns() -> list[re.Pattern[str]]:
    patterns = [rule.prefilter for rule in RULES.rules if rule.prefilter is not None]
    for rule in RULES.rules:
        patterns.extend(rule.patterns + rule.requires + rule.unless)
    patterns.extend(RULES.scope_terms + RULES.off_topic_terms)
    for group in RULES.terms.values():
        patterns.extend(group)
    return patterns


SHIPPED = _shipped_patterns()
GATE = LiteralGate(SHIPPED)


def _sample_texts() -> list[str]:
    texts = [json.loads(line)["question"] for line in CASES.read_text().splitlines() if line.strip()]
    examples = yaml.safe_load((PACKAGE_DATA / "triage_examples.yaml").read_text())
    for group in examples.values():
        if not isinstance(group, (dict, list)):
            continue  # the file's version number
        for item in (group.values() if isinstance(group, dict) else group):
            texts.append(item["text"] if isinstance(item, dict) else str(item))
    return [normalise_for_rules(t) for t in texts]


def test_gate_never_hides_a_match_on_the_safety_cases_and_examples():
    texts = _sample_texts()
    assert len(texts) > 300
    matched = 0
    for text in texts:
        possible = GATE.possible(text)
        for number, pattern in enumerate(SHIPPED):
            if pattern.search(text):
                matched += 1
                assert number in possible, (pattern.pattern, text)
    assert matched > 100  # the sample really exercises the patterns


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_gate_lets_through_every_string_a_shipped_pattern_matches(data):
    number = data.draw(st.sampled_from(range(len(SHIPPED))))
    pattern = SHIPPED[number]
    text = data.draw(st.from_regex(pattern))  # a string containing a match of the pattern
    if pattern.search(text):  # (a look-behind can still rule the generated match out)
        assert number in GATE.possible(text), (pattern.pattern, text)


def test_rule_evaluation_is_the_same_with_and_without_the_gate(monkeypatch):
    texts = _sample_texts()
    gated = [[(f.rule.id, f.fired, f.note) for f in RULES.evaluate(t)] for t in texts]
    off_topic = [RULES.off_topic_term(t) for t in texts]
    everything = set(range(len(RULES.rules)))
    monkeypatch.setattr(RULES._rule_gate, "possible", lambda text: everything)
    monkeypatch.setattr(RULES._off_topic_gate, "possible",
                        lambda text: set(range(len(RULES.off_topic_terms))))
    assert gated == [[(f.rule.id, f.fired, f.note) for f in RULES.evaluate(t)] for t in texts]
    assert off_topic == [RULES.off_topic_term(t) for t in texts]


def test_gate_skips_most_rules_for_an_ordinary_question():
    text = normalise_for_rules("How long does recovery from aHSCT for multiple sclerosis take?")
    assert len(RULES._rule_gate.possible(text)) < len(RULES.rules) // 3


def test_without_the_regex_parser_every_pattern_is_searched(monkeypatch):
    import qa.safety.literal_gate as gate_module

    monkeypatch.setattr(gate_module, "sre_parse", None)
    patterns = [re.compile(r"\bfever\b"), re.compile(r"chest pain")]
    gate = LiteralGate(patterns)
    assert gate.always_searched == {0, 1}
    assert gate.possible("nothing relevant") == {0, 1}
