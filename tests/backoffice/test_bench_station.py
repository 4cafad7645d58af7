"""`flask --app wsgi bench station` runs end to end on two keys (the real agent process, the back office
and the signing service on loopback, SoftHSM2 tokens of its own) and prints both ratios. Run as a
process of its own: the bench's app has a database of its own, which the tests' patched session
would hide."""
from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_bench_station_prints_a_ratio_per_key_type(tmp_path):
    env = {**os.environ, "BACKOFFICE_INSTANCE": str(tmp_path)}
    env.pop("SOFTHSM2_CONF", None)
    result = subprocess.run([sys.executable, "-m", "flask", "--app", "wsgi", "bench", "station", "--keys", "2"],
                            cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    for kind in ("RSA-2048", "P-256"):
        match = re.search(rf"^ratio station/bare \({kind}\): (\d+\.\d\d)$", result.stdout, re.M)
        assert match, result.stdout + result.stderr
        assert float(match.group(1)) > 0
