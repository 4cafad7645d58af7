"""A key helper without a token: it speaks the helper protocol through a test client and keeps the key
pairs in memory (cryptography), so the back office's side is tested on its own. The real helper
(`ukey-helper`) on SoftHSM2 is tested end to end in tests/public/key_helper/test_helper_process.py."""
from __future__ import annotations

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from protocol import helper as protocol
from tests.station.fake_agent import KEYS


def sign(key, challenge: bytes) -> str:
    return key.sign(challenge, ec.ECDSA(hashes.SHA256())).hex()


class FakeHelper:
    def __init__(self, client, serial: str, certificate_pem: str, key, *, locked: bool = False):
        self.client, self.key, self.new_key = client, key, None
        self.keys = [{"serial": serial, "label": "", "model": "SoftHSM v2", "user_pin_locked": locked,
                      "certificates": [certificate_pem]}]
        self.headers: dict = {}

    def post(self, path: str, body: dict):
        return self.client.post(protocol.API + path, json=body, headers=self.headers)

    def pair(self, code: str):
        answer = self.post("/pair", {"code": code, "keys": self.keys})
        if answer.status_code == 200:
            self.headers = {"Authorization": f"Bearer {answer.get_json()['credential']}"}
        return answer

    def poll(self, running_task: str | None = None) -> protocol.HelperPollAnswer:
        answer = self.post("/poll", {"keys": self.keys, "running_task": running_task, "wait": 0})
        assert answer.status_code == 200, answer.get_data(as_text=True)
        return protocol.poll_answer_from_json(answer.get_json())

    def task(self) -> protocol.Task | None:
        return self.poll().task

    def login(self, task: protocol.Task, wrong_pins: int = 0, key=None):
        return self.post(f"/tasks/{task.task_id}/login", {
            "signature": sign(key or self.key, bytes.fromhex(task.login.challenge)),
            "wrong_pins": [{"pin": "user"}] * wrong_pins})

    def certificate(self, task: protocol.Task):
        renew = task.renew
        self.new_key = self.new_key or KEYS[renew.key_type]()
        name = x509.Name([x509.NameAttribute(x509.ObjectIdentifier(oid), value) for oid, value in renew.subject])
        request = x509.CertificateSigningRequestBuilder().subject_name(name).sign(self.new_key, hashes.SHA256())
        return self.post(f"/tasks/{task.task_id}/certificate",
                         {"csr_pem": request.public_bytes(serialization.Encoding.PEM).decode()})

    def step(self, task: protocol.Task, step: protocol.HelperStep):
        return self.post(f"/tasks/{task.task_id}/steps", {"reports": [{"step": step.value}]})

    def finish(self, task: protocol.Task, certificate_pem: str):
        return self.post(f"/tasks/{task.task_id}/finish", {
            "certificate_pem": certificate_pem, "signature": sign(self.new_key, bytes.fromhex(task.renew.challenge))})

    def renew(self, task: protocol.Task) -> str:
        """The renewal's steps as the real helper does them; the new certificate's PEM."""
        assert self.step(task, protocol.HelperStep.KEY_GENERATED).status_code == 200
        issued = self.certificate(task)
        assert issued.status_code == 200, issued.get_data(as_text=True)
        pem = issued.get_json()["certificate_pem"]
        assert self.finish(task, pem).status_code == 200
        assert self.step(task, protocol.HelperStep.OLD_KEY_DELETED).status_code == 200
        return pem
