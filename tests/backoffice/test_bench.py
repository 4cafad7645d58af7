"""`flask --app wsgi bench queue` runs end to end (on a small scale) and prints its table."""
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
