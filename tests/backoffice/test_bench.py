"""`flask --app wsgi bench queue` and `bench reports` run end to end (on a small scale) and print their figures."""
from __future__ import annotations

import re


def test_bench_queue_prints_ours_against_flask_admin(runner):
    result = runner.invoke(args=["bench", "queue", "--applications", "400", "--deep-page", "3", "--repeat", "2"])
    assert result.exit_code == 0, result.output
    in_queue = int(re.search(r"(\d+) of 400 applications in the new-application queue", result.output).group(1))
    assert in_queue >= 0.4 * 400
    rows = re.findall(r"^(1|3)\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)\s+(-?[\d.]+)$", result.output, re.M)
    assert [row[0] for row in rows] == ["1", "3"]
    for _page, ours, theirs, ratio, _bare, _own in rows:
        assert abs(float(ours) / float(theirs) - float(ratio)) < 0.01


def test_bench_reports_prints_the_dashboard_against_its_bare_sql(runner):
    result = runner.invoke(args=["bench", "reports", "--applications", "400", "--repeat", "2"])
    assert result.exit_code == 0, result.output
    assert "decisions" in result.output and "its SQL, bare" in result.output
    ratio = float(result.output.split("ratio dashboard/bare:")[1].split()[0])
    assert ratio > 1  # the page does more than its SQL
