"""A frozen evaluation folder: its SHA256SUMS pins every file a writer wrote."""

import hashlib
from pathlib import Path


def assert_frozen(folder: Path) -> None:
    """Every file the checksums name is unchanged, and every JSONL file is named."""
    recorded = dict(line.split()[::-1] for line in
                    (folder / "SHA256SUMS").read_text().splitlines() if line.strip())
    for name, digest in recorded.items():
        assert hashlib.sha256((folder / name).read_bytes()).hexdigest() == digest, name
    assert set(recorded) == {p.name for p in folder.glob("*.jsonl")}
