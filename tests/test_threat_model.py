"""docs/security.md names a test for each threat: every test file and test it names exists, so the
threat model cannot point at a test renamed or removed. `::test_name` alone is of the file named
last before it."""
from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_every_test_the_threat_model_names_exists():
    text = (ROOT / "docs" / "security.md").read_text()
    named, missing, last_file = 0, [], None
    for match in re.finditer(r"`(tests/[\w/]+(?:\.py)?)?(?:::(test_\w+))?`", text):
        path, name = match.groups()
        last_file = path or last_file
        if not (path or name):
            continue
        target = ROOT / last_file
        if not target.exists():
            missing.append(last_file)
        elif name:
            named += 1
            if not re.search(rf"^def {name}\(", target.read_text(), re.M):
                missing.append(f"{last_file}::{name}")
    assert named > 40
    assert missing == []
