"""`make test` runs the suite on SQLite, then once more on PostgreSQL with the tests that reach a
database: those asking for the `database_url` fixture (tests/conftest.py). A test that found the
server some other way would be left out of the pass it is written for."""
from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

TESTS = Path(__file__).parent
READS_THE_SERVER = re.compile(r"""(environ\.get\(|environ\[|getenv\()\s*["']TEST_DATABASE_URL["']""")


def test_only_the_fixture_reads_which_database_server_is_under_test():
    readers = [path.relative_to(TESTS).as_posix() for path in TESTS.rglob("*.py")
               if READS_THE_SERVER.search(path.read_text(encoding="utf-8"))]
    assert readers == ["databases.py"]


def test_the_postgresql_pass_keeps_the_tests_on_a_database_and_leaves_out_the_others():
    collected = subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:randomly",
         "tests/issuance/test_database_role.py", "tests/test_migrations.py", "tests/public/test_validators.py",
         "tests/test_backup.py"],
        env={"PATH": "/usr/bin:/bin", "TEST_DATABASE_URL": "postgresql+psycopg://nobody@127.0.0.1:9/none"},
        cwd=TESTS.parent, capture_output=True, text=True, timeout=120)
    files = {line.split("::")[0] for line in collected.stdout.splitlines() if "::" in line}
    assert files == {"tests/issuance/test_database_role.py", "tests/test_migrations.py", "tests/test_backup.py"}, \
        collected.stdout + collected.stderr
    assert re.search(r"\d+ deselected", collected.stdout)
