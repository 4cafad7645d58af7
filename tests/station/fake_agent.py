"""An agent without a token: it speaks the station protocol through a test client and keeps its key
pair in memory (cryptography), so the back office's side is tested on its own. The real agent
(agent/) on SoftHSM2 is tested end to end in test_programming.py."""
from __future__ import annotations

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa

from protocol import station as protocol

KEYS = {"rsa2048": lambda: rsa.generate_private_key(65537, 2048),
        "ec_p256": lambda: ec.generate_private_key(ec.SECP256R1())}


class FakeAgent:
    def __init__(self, client, credential: str, tokens: list[dict] | None = None):
        self.client = client
        self.headers = {"Authorization": f"Bearer {credential}"}
        self.tokens = tokens or []
        self.key = None

    def post(self, path: str, body: dict):
        return self.client.post(protocol.API + path, json=body, headers=self.headers)

    def poll(self, running_job: str | None = None):
        return self.post("/poll", {"tokens": self.tokens, "running_job": running_job, "wait": 0})

    def job(self) -> protocol.Job | None:
        answer = self.poll()
        assert answer.status_code == 200, answer.get_data(as_text=True)
        return protocol.poll_answer_from_json(answer.get_json()).job

    def step(self, job: protocol.Job, step: protocol.Step, **report):
        return self.post(f"/jobs/{job.job_id}/steps", {"reports": [{"step": step.value, **report}]})

    def csr(self, job: protocol.Job, key=None) -> str:
        self.key = key or self.key or KEYS[job.key_type]()
        name = x509.Name([x509.NameAttribute(x509.ObjectIdentifier(oid), value) for oid, value in job.subject])
        request = x509.CertificateSigningRequestBuilder().subject_name(name).sign(self.key, hashes.SHA256())
        return request.public_bytes(serialization.Encoding.PEM).decode()

    def certificate(self, job: protocol.Job, key=None):
        return self.post(f"/jobs/{job.job_id}/certificate", {"csr_pem": self.csr(job, key)})

    def signature(self, challenge: bytes) -> str:
        if isinstance(self.key, rsa.RSAPrivateKey):
            return self.key.sign(challenge, padding.PKCS1v15(), hashes.SHA256()).hex()
        return self.key.sign(challenge, ec.ECDSA(hashes.SHA256())).hex()

    def finish(self, job: protocol.Job, certificate_pem: str, signature: str | None = None):
        return self.post(f"/jobs/{job.job_id}/finish", {
            "certificate_pem": certificate_pem, "signature": signature or self.signature(bytes.fromhex(job.challenge))})

    def run(self, job: protocol.Job):
        """Every step, as the real agent reports them; the finish answer."""
        for step in protocol.STEPS[1:8]:
            assert self.step(job, step).status_code == 200
        issued = self.certificate(job)
        assert issued.status_code == 200, issued.get_data(as_text=True)
        for step in (protocol.Step.CERTIFICATE_WRITTEN, protocol.Step.CHAIN_WRITTEN):
            assert self.step(job, step).status_code == 200
        return self.finish(job, issued.get_json()["certificate_pem"])
