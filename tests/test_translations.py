"""Every message in the code and the templates has its Chinese translation (the UI is Chinese by
default), and the catalogues hold nothing the code no longer says: a message added without a
translation, or one removed from the code but not from the catalogue, fails here, naming it."""
from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parent.parent
# Every package of the product (a folder with __init__.py, but the tests and the migrations) and
# the templates: a new package is checked without anyone remembering to add it here.
SOURCES = sorted(p.parent.name for p in ROOT.glob("*/__init__.py") if p.parent.name not in ("tests", "migrations")) \
    + ["templates"]
CATALOGUE = ROOT / "translations" / "zh_Hans_CN" / "LC_MESSAGES" / "messages.po"
TEMPLATE = ROOT / "translations" / "messages.pot"
PLACEHOLDER = re.compile(r"%\(\w+\)[sd]")


def _extracted(tmp_path: Path):
    template = tmp_path / "messages.pot"
    subprocess.run([sys.executable, "-m", "babel.messages.frontend", "extract", "-F", "babel.cfg",
                    "-k", "_l", "-k", "N_", "-k", "lazy_gettext", "-o", str(template), *SOURCES],
                   cwd=ROOT, check=True, capture_output=True)
    with template.open("rb") as handle:
        return read_po(handle)


def test_every_message_has_a_chinese_translation(tmp_path):
    with CATALOGUE.open("rb") as handle:
        chinese = read_po(handle)
    missing, broken = [], []
    for message in _extracted(tmp_path):
        if not message.id:
            continue
        msgid = message.id if isinstance(message.id, str) else message.id[0]
        found = chinese.get(message.id)
        strings = (found.string if isinstance(found.string, tuple | list) else [found.string]) if found else []
        if not found or found.fuzzy or not all(strings):
            missing.append(msgid)
        elif any(sorted(PLACEHOLDER.findall(s)) != sorted(PLACEHOLDER.findall(msgid)) for s in strings):
            broken.append(msgid)
    assert not missing, "no Chinese translation for:\n" + "\n".join(missing)
    assert not broken, "placeholders differ in the translation of:\n" + "\n".join(broken)


def _ids(catalog) -> set:
    return {message.id for message in catalog if message.id}


def test_the_catalogues_hold_no_message_the_code_no_longer_has(tmp_path):
    in_code = _ids(_extracted(tmp_path))
    with CATALOGUE.open("rb") as handle:
        chinese = read_po(handle)
    with TEMPLATE.open("rb") as handle:
        template = read_po(handle)
    stale = sorted(str(i) for i in (_ids(chinese) | set(chinese.obsolete) | _ids(template)) - in_code)
    assert not stale, "in the catalogues but no longer in the code (run the update in translations/README.md):\n" + \
        "\n".join(stale)
    assert _ids(template) == in_code, "translations/messages.pot is not up to date with the code"
