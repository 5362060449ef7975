"""The package's data files read the same through the fast C loader as through PyYAML's own."""

from __future__ import annotations

import pytest
import yaml

from qa.settings import PACKAGE_DATA
from qa.yaml_data import load_yaml


@pytest.mark.parametrize("path", sorted(PACKAGE_DATA.glob("*.yaml")), ids=lambda p: p.name)
def test_every_data_file_reads_as_with_the_safe_loader(path):
    text = path.read_text(encoding="utf-8")
    assert load_yaml(text) == yaml.safe_load(text)


def test_bad_yaml_raises_the_yaml_error_callers_turn_into_a_config_error():
    with pytest.raises(yaml.YAMLError):
        load_yaml("groups: [unclosed")


def test_it_refuses_python_objects():
    with pytest.raises(yaml.YAMLError):
        load_yaml("!!python/object/apply:os.system ['true']")
