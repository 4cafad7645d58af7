"""The simulated people of a load test (locust users), each on a pace of one request a second
from an address of its own (X-Forwarded-For, read by the app behind TRUSTED_PROXIES=1, so each
is its own client for the rate limits): applicants on the public form and through the channel API,
reviewers working the new-application queue, order queries, and visitors.

A request's name is its kind in the figures. The test hooks (`/_test/...`: the captcha's answer,
the sandbox phone's inbox) are named "hook: ..." and left out of them.
"""
from __future__ import annotations

import json
import os
import random
import re
import secrets
import time
import uuid
from pathlib import Path
from urllib.parse import urlencode

import gevent
import pyotp
from locust import constant, task
from locust.contrib.fasthttp import FastHttpUser

from backoffice.loadtest.people import Applicants, next_serial, scans

PACE_SECONDS = 1.0  # each simulated person sends a request a second at most
SIGN_OUT_SHARE = 0.2  # of a reviewer's rounds (a queue page and up to five decisions)

class Run:
    """What `loadtest prepare` made for this run (setup), where accepted submissions are written,
    and the reviewers' password: set by `configure` before anybody starts."""

    setup: dict = {}
    accepted: Path = Path(os.devnull)
    password: str = ""


def configure(setup: Path, accepted: Path, password: str) -> None:
    Run.setup, Run.accepted, Run.password = json.loads(setup.read_text()), accepted, password
    if not all(Run.setup.get(part) for part in ("reviewers", "api_keys", "queries")):
        raise ValueError(f"{setup}: reviewers, channel keys and order-query targets are all needed")


SCANS = scans()
FORM_URLENCODED = {"Content-Type": "application/x-www-form-urlencoded"}
_applicants = Applicants(seed=secrets.randbits(64))
_reviewer_seats = iter(range(10**6))


def _field(html: str, name: str) -> str:
    found = re.search(rf'name="{name}"[^>]*value="([^"]*)"', html) or re.search(
        rf'value="([^"]*)"[^>]*name="{name}"', html)
    return found.group(1) if found else ""


class Person(FastHttpUser):
    abstract = True
    wait_time = constant(0)  # the pace is kept per request (_pace)

    def on_start(self) -> None:
        self.address = f"10.{random.randrange(256)}.{random.randrange(256)}.{random.randrange(1, 255)}"
        self.last = 0.0

    def _pace(self) -> None:
        gevent.sleep(max(0.0, self.last + PACE_SECONDS - time.monotonic()))
        self.last = time.monotonic()

    def _headers(self, extra: dict | None = None) -> dict:
        return {"X-Forwarded-For": self.address, **(extra or {})}

    def get(self, url: str, name: str, **kwargs):
        self._pace()
        return self.client.get(url, name=name, headers=self._headers(kwargs.pop("headers", None)),
                               allow_redirects=False, **kwargs)

    def post(self, url: str, name: str, fields: dict, **kwargs):
        self._pace()
        return self.client.post(url, name=name, data=urlencode(fields, doseq=True),
                                headers=self._headers(FORM_URLENCODED), allow_redirects=False, **kwargs)

    def hook(self, url: str):
        """A test hook: not paced, not a kind in the figures."""
        return self.client.get(url, name="hook: " + url.split("?")[0], headers=self._headers(),
                               allow_redirects=False, catch_response=True)

    def sms_code(self, phone: str, seen: str = "", wait: float = 30.0) -> str | None:
        """The newest code the worker delivered to `phone` (not `seen`), as the person reads it."""
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            with self.hook(f"/_test/sms?phone={phone}") as response:
                response.success()
                code = re.search(r"验证码\s*(\d{6})", response.text or "") if response.status_code == 200 else None
            if code and code.group(1) != seen:
                return code.group(1)
            gevent.sleep(0.5)
        return None

    def captcha(self, token: str) -> str:
        """The picture, as the page's <img> loads it, then its answer (a person reads it off)."""
        self.get(f"/captcha.png?t={token}", "captcha picture")
        with self.hook(f"/_test/captcha?t={token}") as response:
            response.success()
            return response.text or ""


def _multipart(fields: dict[str, str], files: dict[str, bytes]) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    parts = [f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
             for name, value in fields.items()]
    parts += [f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; filename="{name}.jpg"\r\n'
              f"Content-Type: image/jpeg\r\n\r\n".encode() + content + b"\r\n" for name, content in files.items()]
    return b"".join(parts) + f"--{boundary}--\r\n".encode(), f"multipart/form-data; boundary={boundary}"


def _accepted(number: str, credit_code: str, kinds: list[str], via: str) -> None:
    with Run.accepted.open("a") as out:
        out.write(json.dumps({"number": number, "credit_code": credit_code, "kinds": kinds, "via": via}) + "\n")


class FormApplicant(Person):
    """The public form from the blank page to the sandbox payment."""

    weight = 3

    @task
    def apply(self) -> None:
        application = _applicants.application()
        page = self.get("/c/direct/apply", "form: application page")
        fields = {**application, "csrf_token": _field(page.text, "csrf_token"), "consent": "y",
                  "captcha_token": _field(page.text, "captcha_token")}
        fields["captcha"] = self.captcha(fields["captcha_token"])
        sent = self.post("/c/direct/apply", "form: submit application", fields)
        if sent.status_code != 302:
            return
        number = sent.headers["Location"].rstrip("/").rsplit("/", 1)[-1]
        self.get(f"/apply/{number}", "form: confirm page")
        page = self.get(f"/apply/{number}/materials", "form: materials page")
        kinds = re.findall(r'type="file" name="(\w+)"', page.text)
        for kind in kinds:  # "upload in turn", as the page asks: a file, then its preview
            body, content_type = _multipart({"csrf_token": _field(page.text, "csrf_token")},
                                            {kind: random.choice(SCANS)})
            self._pace()
            uploaded = self.client.post(f"/apply/{number}/materials", name="form: upload material", data=body,
                                        headers=self._headers({"Content-Type": content_type}),
                                        allow_redirects=False)
            if uploaded.status_code != 302:
                return
            page = self.get(f"/apply/{number}/materials", "form: materials page")
            preview = re.search(rf'id="material-{kind}".*?<img class="preview"[^>]*src="([^"]+)"', page.text, re.S)
            if preview:
                self.get(preview.group(1), "form: material preview")
        token = _field(page.text, "csrf_token")
        self.post(f"/apply/{number}/materials/done", "form: materials done", {"csrf_token": token})
        page = self.get(f"/apply/{number}/signature", "form: signature page")
        self.post(f"/apply/{number}/signature/code", "form: send signature code",
                  {"csrf_token": _field(page.text, "csrf_token")})
        code = self.sms_code(application["agent_phone"])
        if code is None:
            return
        signed = self.post(f"/apply/{number}/signature", "form: sign",
                           {"csrf_token": _field(page.text, "csrf_token"), "sms_code": code})
        if signed.status_code != 302:
            return
        _accepted(number, application["credit_code"], kinds, "form")
        self.pay(number)

    def pay(self, number: str) -> None:
        page = self.get(f"/apply/{number}/pay", "form: payment page")
        wallet = re.search(r'href="(/sandbox/wallet/[^"]+)"', page.text or "")
        if wallet is None:
            return
        cashier = self.get(wallet.group(1), "sandbox wallet: cashier")
        self.post(wallet.group(1) + "/pay", "sandbox wallet: pay", {"csrf_token": _field(cashier.text, "csrf_token")})
        for _ in range(10):
            status = self.get(f"/apply/{number}/pay/status", "form: payment status")
            if status.status_code != 200 or not status.json()["waiting"]:
                return
            gevent.sleep(1)


class ApiClient(Person):
    """A channel's server applying for its applicants through the API, one channel key each."""

    weight = 2

    def on_start(self) -> None:
        super().on_start()
        keys = Run.setup["api_keys"]
        self.key = keys[next_serial() % len(keys)]

    def call(self, method: str, url: str, name: str, **kwargs):
        self._pace()
        headers = self._headers({"Authorization": f"Bearer {self.key}", **kwargs.pop("headers", {})})
        return self.client.request(method, url, name=name, headers=headers, **kwargs)

    @task
    def apply(self) -> None:
        application = _applicants.application()
        created = self.call("POST", "/api/v1/applications", "api: create application",
                            json={**application, "consent": True}, headers={"Idempotency-Key": secrets.token_hex(16)})
        if created.status_code != 201:
            return
        state = created.json()
        number = state["number"]
        kinds = list(state["materials"])
        for kind in kinds:
            self.call("PUT", f"/api/v1/applications/{number}/materials/{kind}", "api: upload material",
                      data=random.choice(SCANS), headers={"Content-Type": "image/jpeg"})
        sent = self.call("POST", f"/api/v1/applications/{number}/signature-code", "api: send signature code",
                         headers={"Idempotency-Key": secrets.token_hex(16)})
        code = self.sms_code(application["agent_phone"]) if sent.status_code == 202 else None
        if code is None:
            return
        signed = self.call("POST", f"/api/v1/applications/{number}/signature", "api: sign",
                           json={"sms_code": code, "consent": True}, headers={"Idempotency-Key": secrets.token_hex(16)})
        if signed.status_code == 200:
            _accepted(number, application["credit_code"], kinds, "api")
            self.call("GET", f"/api/v1/applications/{number}/payment", "api: payment QR code")


class Reviewer(Person):
    """Signs in (password, then TOTP) and decides applications from the new-application queue:
    most approved after the identity check, some rejected, some sent back for more materials."""

    weight = 3

    def on_start(self) -> None:
        super().on_start()
        accounts = Run.setup["reviewers"]
        self.account = accounts[next(_reviewer_seats) % len(accounts)]
        self.signed_in = False

    def sign_in(self) -> None:
        page = self.get("/console/login", "sign-in: page")
        sent = self.post("/console/login", "sign-in: password", {"csrf_token": _field(page.text, "csrf_token"),
                                                                  "username": self.account["username"],
                                                                  "password": Run.password})
        if sent.status_code != 302:
            return
        page = self.get("/console/login/totp", "sign-in: TOTP page")
        done = self.post("/console/login/totp", "sign-in: TOTP code", {
            "csrf_token": _field(page.text, "csrf_token"), "code": pyotp.TOTP(self.account["totp_secret"]).now()})
        self.signed_in = done.status_code == 302

    @task
    def work(self) -> None:
        if not self.signed_in:
            self.sign_in()
            return
        queue = self.get("/console/queues/new", "console: queue new")
        if queue.status_code != 200:
            self.signed_in = False
            return
        token = _field(queue.text, "csrf_token")
        opened = self.post("/console/queues/new/next", "console: claim next", {"csrf_token": token})
        for _ in range(5):  # a few in a row, as a reviewer goes on from one decision to the next
            location = opened.headers.get("Location", "") if opened.status_code == 302 else ""
            if "/console/orders/" not in location:
                break
            number = location.rstrip("/").rsplit("/", 1)[-1]
            opened = self.decide(number)
        if random.random() < SIGN_OUT_SHARE:  # a break or the end of a shift: signs in again after it
            self.post("/console/logout", "console: sign out", {"csrf_token": token})
            self.signed_in = False

    def decide(self, number: str):
        page = self.get(f"/console/orders/{number}", "console: order page")
        token = _field(page.text, "csrf_token")
        checks = sorted(set(re.findall(r'name="(check-[\w-]+)"', page.text or "")))
        roll = random.random()
        decision = "approve" if roll < 0.7 else "reject" if roll < 0.9 else "more_materials"
        answers = {check: "y" for check in checks}
        if decision != "approve" and checks:
            answers[checks[0]] = "n"
        if decision == "approve":
            self.post(f"/console/orders/{number}/verify", "console: identity check", {"csrf_token": token})
        return self.post(f"/console/orders/{number}/decide", "console: decide",
                         {"csrf_token": token, "decision": decision, **answers})


class OrderQuery(Person):
    """An agent looks up their organisation's orders: the query, the SMS code, the results."""

    weight = 1

    @task
    def query(self) -> None:
        targets = Run.setup["queries"]
        target = targets[next_serial() % len(targets)]
        page = self.get("/query", "query: page")
        token = _field(page.text, "captcha_token")
        asked = self.post("/query", "query: ask", {
            "csrf_token": _field(page.text, "csrf_token"), "cert_kind": "unit", "id_type": "credit_code",
            "id_number": target["credit_code"], "agent_phone": target["phone"], "captcha_token": token,
            "captcha": self.captcha(token)})
        if asked.status_code != 302:
            return
        page = self.get("/query/verify", "query: code page")
        code = self.sms_code(target["phone"])
        if code is None:
            return
        verified = self.post("/query/verify", "query: verify code",
                             {"csrf_token": _field(page.text, "csrf_token"), "sms_code": code})
        if verified.status_code == 302:
            self.get("/query/results", "query: results")


class Visitor(Person):
    """Someone reading the public pages."""

    weight = 3
    PAGES = (("/", "visitor: home"), ("/c/direct/", "visitor: channel home"),
             ("/c/direct/apply", "form: application page"), ("/regions.json", "visitor: regions"),
             ("/legal/service-agreement", "visitor: legal document"), ("/healthz", "visitor: health"))

    @task
    def browse(self) -> None:
        for url, name in random.sample(self.PAGES, 3):
            self.get(url, name)


class BareVisitor(Person):
    """A visitor of the bare app (loadtest.bare), for the floor the run is read against."""

    @task
    def browse(self) -> None:
        self.get("/", "bare app: page")
