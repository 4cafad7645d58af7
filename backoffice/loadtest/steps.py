"""Rising steps of load, each measured on its own: more simulated people each step, a warm-up
while they arrive, then a window whose every request is counted. The steps end at the first
whose window has a 5xx (or a dropped connection) or a kind of request whose p95 reaches the
limit; the last step before it is the sustained rate."""
from __future__ import annotations

from dataclasses import dataclass, field

import gevent
from locust.env import Environment

from backoffice.loadtest import users

HOOK = "hook: "


@dataclass(frozen=True)
class Kind:
    name: str
    requests: int
    p50: float
    p95: float
    p99: float


@dataclass
class Step:
    people: int
    seconds: float
    kinds: list[Kind] = field(default_factory=list)
    server_errors: int = 0  # 5xx, and connections dropped without an answer
    limited: int = 0  # 429: a rate limit said no, as it should to one who asks too often

    @property
    def rps(self) -> float:
        return sum(kind.requests for kind in self.kinds) / self.seconds

    def slowest(self) -> Kind | None:
        return max(self.kinds, key=lambda kind: kind.p95, default=None)

    def clean(self, limit_ms: float) -> bool:
        return self.server_errors == 0 and all(kind.p95 < limit_ms for kind in self.kinds)


class Counter:
    """5xx answers and dropped connections, and 429s, in the window and over the whole run."""

    def __init__(self) -> None:
        self.window = {"errors": 0, "limited": 0}
        self.total = {"errors": 0, "limited": 0}

    def __call__(self, request_type, name, response_time, response_length, response=None, exception=None,
                 **_kwargs) -> None:
        status = getattr(response, "status_code", 0) or 0
        what = "errors" if status >= 500 or (exception is not None and status == 0) else \
            "limited" if status == 429 else None
        if what:
            self.window[what] += 1
            self.total[what] += 1

    def reset(self) -> None:
        self.window = {"errors": 0, "limited": 0}


PEOPLE = [users.FormApplicant, users.ApiClient, users.Reviewer, users.OrderQuery, users.Visitor]


def climb(host: str, *, first: int, increment: int, most: int, warm: float, measure: float, limit_ms: float,
          report=print) -> tuple[list[Step], Counter]:
    """Runs the steps against `host`; the steps measured, and the run's counter. A first warm-up,
    twice as long, lets every web worker compile its templates and fill its caches."""
    environment = Environment(user_classes=PEOPLE, host=host)
    counter = Counter()
    environment.events.request.add_listener(counter)
    runner = environment.create_local_runner()
    steps: list[Step] = []
    try:
        runner.start(first, spawn_rate=max(first / 5, 1))
        gevent.sleep(warm)
        for people in range(first, most + 1, increment):
            runner.start(people, spawn_rate=max(increment / 5, 1))
            gevent.sleep(warm)
            environment.stats.reset_all()
            counter.reset()
            gevent.sleep(measure)
            step = Step(people, measure, _kinds(environment), counter.window["errors"], counter.window["limited"])
            steps.append(step)
            slowest = step.slowest()
            report(f"step {len(steps)}: {people} people, {step.rps:.1f} requests/s, 5xx {step.server_errors}, "
                   f"429 {step.limited}, slowest p95 {slowest.p95:.0f} ms ({slowest.name})" if slowest else
                   f"step {len(steps)}: {people} people, no requests")
            if not step.clean(limit_ms):
                break
    finally:
        runner.quit()
    return steps, counter


def bare(host: str, people: int, *, warm: float, measure: float) -> Kind | None:
    """The same number of people, at the same pace, asking a bare WSGI app (loadtest.bare) under
    the same gunicorn: what this machine's processes, sockets and locust cost a request, so the
    app's figures read against a floor measured in the same run."""
    environment = Environment(user_classes=[users.BareVisitor], host=host)
    runner = environment.create_local_runner()
    try:
        runner.start(people, spawn_rate=max(people / 5, 1))
        gevent.sleep(warm)
        environment.stats.reset_all()
        gevent.sleep(measure)
        return next(iter(_kinds(environment)), None)
    finally:
        runner.quit()


def _kinds(environment: Environment) -> list[Kind]:
    return sorted((Kind(entry.name, entry.num_requests, entry.get_response_time_percentile(0.5),
                        entry.get_response_time_percentile(0.95), entry.get_response_time_percentile(0.99))
                   for entry in environment.stats.entries.values()
                   if entry.num_requests and not entry.name.startswith(HOOK)), key=lambda kind: kind.name)
