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
