"""Configuration fails loudly and every setting is documented for operators."""

import pytest
from pydantic import ValidationError

from qa.settings import Settings
from tests.conftest import ROOT


def test_every_setting_is_documented_in_operations_md():
    text = (ROOT / "docs" / "operations.md").read_text(encoding="utf-8")
    missing = [name for name in Settings.model_fields if f"`QA_{name.upper()}`" not in text]
    assert not missing, f"document these in docs/operations.md (scripts/settings_reference.py --write): {missing}"


def test_every_setting_has_a_description():
    assert all(field.description for field in Settings.model_fields.values())


def test_environment_variables_are_read(monkeypatch):
    monkeypatch.setenv("QA_TOP_K", "5")
    monkeypatch.setenv("QA_CORPUS", "a, b")
    settings = Settings()
    assert settings.top_k == 5 and [p.name for p in settings.corpus] == ["a", "b"]


def test_invalid_values_fail_loudly(monkeypatch):
    monkeypatch.setenv("QA_TOP_K", "0")
    with pytest.raises(ValidationError):
        Settings()


@pytest.mark.parametrize("overrides", [
    {"topk": 3},                                          # a typo: not a setting
    {"rate_limit": "banana"},
    {"rate_limit_per_ip": "many"},
    {"log_level": "LOUD"},
    {"chunk_min_words": 500, "chunk_max_words": 100},
])
def test_nonsense_is_refused_where_it_is_set(overrides):
    with pytest.raises(ValidationError):
        Settings(**overrides)


def test_sensible_values_are_accepted_and_log_levels_are_case_blind():
    settings = Settings(rate_limit="off", rate_limit_per_ip="10 per second", log_level="debug")
    assert settings.log_level == "DEBUG"
