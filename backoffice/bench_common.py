"""What the benchmarks share: signing a staff member in through the console's own forms, and the median
of repeated timings after a warm-up."""
from __future__ import annotations

import statistics
import time

import click
import pyotp


def login(client, username: str, secret: str, password: str) -> None:
    client.post("/console/login", data={"username": username, "password": password})
    response = client.post("/console/login/totp", data={"code": pyotp.TOTP(secret).now()})
    if response.status_code != 302:
        raise click.ClickException(f"{username} could not sign in")


def median_ms(call, repeat: int, warm_up: int = 3) -> float:
    for _ in range(warm_up):
        call()
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        call()
        samples.append(time.perf_counter() - started)
    return statistics.median(samples) * 1000
