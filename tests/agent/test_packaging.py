"""The key helper as the applicants install it: `packaging/ukey-helper` builds a wheel holding the agent's
token code and the protocol, nothing of the back office, with the `ukey-helper` entry point."""
from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_helper_wheel_holds_the_agent_and_the_protocol_and_its_command(tmp_path):
    # Built from a copy: setuptools leaves its build folders beside the project it builds.
    source = tmp_path / "source"
    for folder in ("agent", "protocol", "packaging/ukey-helper"):
        shutil.copytree(ROOT / folder, source / folder, ignore=shutil.ignore_patterns("__pycache__"))
    built = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", str(tmp_path),
                            str(source / "packaging" / "ukey-helper")], capture_output=True, text=True, timeout=300)
    assert built.returncode == 0, built.stdout + built.stderr
    [wheel] = tmp_path.glob("ukey_helper-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    packages = {name.split("/")[0] for name in names if not name.startswith("ukey_helper-")}
    assert packages == {"agent", "protocol"}
    assert "agent/helper.py" in names and "protocol/helper.py" in names
    [entry_points] = [name for name in names if name.endswith("entry_points.txt")]
    assert "ukey-helper = agent.helper:main" in zipfile.ZipFile(wheel).read(entry_points).decode()
