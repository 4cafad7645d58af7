#!/usr/bin/env bash
# `make audit`: pip-audit of the pinned requirements against PyPI's vulnerability data, where that
# service answers for them (it is asked about the first pin of requirements.txt); on a machine
# without it (an offline box, a mirror without the JSON API), say so and pass. AUDIT_SERVICE_URL:
# where the vulnerability data is asked for (PyPI's JSON API).
set -euo pipefail
venv_bin=${VENV_BIN:-.venv/bin}
export AUDIT_SERVICE_URL=${AUDIT_SERVICE_URL:-https://pypi.org/pypi}
if ! "$venv_bin/python" - <<'PY'
import json
import os
import re
import sys
import urllib.request

pins = re.findall(r"^([A-Za-z0-9_.\-\[\]]+)==([^\s#]+)", open("requirements.txt").read(), re.M)
name, version = re.sub(r"\[.*\]", "", pins[0][0]), pins[0][1]
try:
    with urllib.request.urlopen(f"{os.environ['AUDIT_SERVICE_URL']}/{name}/{version}/json", timeout=5) as answer:
        sys.exit(0 if "vulnerabilities" in json.load(answer) else 1)
except (OSError, ValueError):
    sys.exit(1)
PY
then
    echo "audit skipped: no vulnerability service"
    exit 0
fi
exec "$venv_bin/pip-audit" --strict -r requirements.txt -r requirements-dev.txt
