"""Print (or write into docs/operations.md) the reference table of every QA_ setting.

    python scripts/settings_reference.py [--write]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.report import replace_section  # noqa: E402
from qa.settings import PACKAGE_DATA, Settings  # noqa: E402


def _default(field) -> str:
    if field.default_factory is not None:
        value = field.default_factory()
    else:
        value = field.default
    if isinstance(value, list):
        value = ",".join(str(v) for v in value) or "(empty)"
    if isinstance(value, Path) and str(value).startswith(str(PACKAGE_DATA)):
        value = f"qa/data/{value.name}"
    if value is None or value == "":
        return "(empty)"
    return f"`{value}`"


def reference() -> str:
    lines = ["| variable | default | what |", "| --- | --- | --- |"]
    for name, field in Settings.model_fields.items():
        description = (field.description or "").replace("|", "\\|")
        lines.append(f"| `QA_{name.upper()}` | {_default(field)} | {description} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", action="store_true")
    args = parser.parse_args()
    if args.write:
        replace_section(ROOT / "docs" / "operations.md", "settings", reference())
    else:
        print(reference())


if __name__ == "__main__":
    main()
