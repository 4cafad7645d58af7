"""Revocation, the CRL and OCSP, with key files and on a token, through the live signing service:
`openssl crl` reads the CRL served at the distribution point, `openssl ocsp` asks the responder at
the AIA address about a good, a revoked and an unknown certificate, with a nonce."""
from __future__ import annotations

import base64
import subprocess
import urllib.error
import urllib.parse
import urllib.request
import uuid

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509 import ocsp

from models import RevocationReason


def fetch(url: str, data: bytes | None = None, content_type: str | None = None) -> tuple[int, str, bytes]:
    request = urllib.request.Request(url, data=data, headers={"Content-Type": content_type} if content_type else {})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.headers["Content-Type"], response.read()
    except urllib.error.HTTPError as error:
        with error:
            return error.code, error.headers["Content-Type"], error.read()


def served(signing_url: str, public_address: str) -> str:
    """The signing service's address of a public URL written in a certificate."""
    return signing_url + urllib.parse.urlsplit(public_address).path


@pytest.fixture
def issued(signing, committed_order, request_for, tmp_path):
    """A new certificate with its chain written to files: (Issued, the folder)."""
    number = committed_order()
    answer = signing.issue(f"job-{uuid.uuid4()}", number, request_for(number))
    (tmp_path / "cert.pem").write_text(answer.certificate_pem)
    (tmp_path / "issuing.pem").write_text(answer.chain_pem[0])
    (tmp_path / "root.pem").write_text(answer.chain_pem[1])
    (tmp_path / "chain.pem").write_text("".join(answer.chain_pem))
    return answer, tmp_path


def certificate(answer) -> x509.Certificate:
    return x509.load_pem_x509_certificate(answer.certificate_pem.encode())


def crl_url(answer) -> str:
    points = certificate(answer).extensions.get_extension_for_class(x509.CRLDistributionPoints).value
    return points[0].full_name[0].value


def as_openssl(serial: str) -> str:
    """A serial as `openssl crl -text` prints it: whole bytes in upper-case hex, without leading zero bytes."""
    text = f"{int(serial, 16):X}"
    return text.zfill(len(text) + len(text) % 2)


def openssl_crl(signing_url, answer, folder) -> str:
    status, content_type, der = fetch(served(signing_url, crl_url(answer)))
    assert status == 200 and content_type == "application/pkix-crl"
    (folder / "crl.der").write_bytes(der)
    run = subprocess.run(["openssl", "crl", "-inform", "DER", "-in", folder / "crl.der",
                          "-CAfile", folder / "chain.pem", "-text", "-noout"], capture_output=True, text=True)
    assert run.returncode == 0 and "verify OK" in run.stderr, run.stderr
    return run.stdout


def test_a_revoked_certificate_is_on_the_next_crl(signing, signing_url, issued, officers):
    answer, folder = issued
    before = openssl_crl(signing_url, answer, folder)
    serial = as_openssl(answer.serial_number)
    assert serial not in before

    revoked = signing.revoke(answer.serial_number, RevocationReason.KEY_COMPROMISE,
                             requested_by=officers["senior_reviewer"], confirmed_by=officers["admin"])

    text = openssl_crl(signing_url, answer, folder)
    assert f"Serial Number: {serial}" in text
    entry = text[text.index(f"Serial Number: {serial}"):].split("Serial Number:")[1]
    assert "Key Compromise" in entry
    assert f"X509v3 CRL Number: \n                {revoked.crl_number}" in text
    crl = x509.load_der_x509_crl((folder / "crl.der").read_bytes())
    assert crl.extensions.get_extension_for_class(x509.CRLNumber).value.crl_number == revoked.crl_number
    issuing = x509.load_pem_x509_certificate(answer.chain_pem[0].encode())
    assert (crl.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier).value.key_identifier
            == issuing.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value.digest)
    assert (crl.next_update_utc - crl.last_update_utc).total_seconds() == 24 * 3600
    listed = crl.get_revoked_certificate_by_serial_number(int(answer.serial_number, 16))
    assert listed.revocation_date_utc == revoked.revoked_at
    assert listed.extensions.get_extension_for_class(x509.CRLReason).value.reason == x509.ReasonFlags.key_compromise


def test_a_revocation_asked_again_changes_nothing(signing, issued, officers):
    answer, _ = issued
    who = {"requested_by": officers["senior_reviewer"], "confirmed_by": officers["admin"]}
    first = signing.revoke(answer.serial_number, RevocationReason.CESSATION_OF_OPERATION, **who)
    again = signing.revoke(answer.serial_number, RevocationReason.KEY_COMPROMISE, **who)
    assert again == first


def test_the_unspecified_reason_is_left_off_the_crl(signing, signing_url, issued, officers):
    answer, folder = issued
    signing.revoke(answer.serial_number, RevocationReason.UNSPECIFIED, requested_by=officers["admin"],
                   confirmed_by=officers["senior_reviewer"])
    openssl_crl(signing_url, answer, folder)
    listed = x509.load_der_x509_crl((folder / "crl.der").read_bytes()).get_revoked_certificate_by_serial_number(
        int(answer.serial_number, 16))
    assert len(listed.extensions) == 0  # RFC 5280 5.3.1


def test_the_crl_is_published_again_on_schedule(signing, signing_url, issued):
    answer, folder = issued
    first, second = signing.publish_crl(), signing.publish_crl()
    assert second.crl_number == first.crl_number + 1 and second.next_update > second.this_update
    assert f"X509v3 CRL Number: \n                {second.crl_number}" in openssl_crl(signing_url, answer, folder)


def openssl_ocsp(signing_url, folder, *target: str) -> tuple[str, str]:
    run = subprocess.run(["openssl", "ocsp", "-issuer", folder / "issuing.pem", *target, "-url", f"{signing_url}/ocsp",
                          "-CAfile", folder / "root.pem", "-resp_text"], capture_output=True, text=True)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "Response verify OK" in run.stderr and "WARNING" not in run.stdout + run.stderr, run.stdout + run.stderr
    assert "OCSP Nonce" in run.stdout  # asked with a nonce (openssl's default), answered with it
    return run.stdout, run.stderr


def test_ocsp_answers_good_revoked_and_unknown(signing, signing_url, issued, officers):
    answer, folder = issued
    cert = ["-cert", folder / "cert.pem"]

    good, _ = openssl_ocsp(signing_url, folder, *cert)
    assert f"{folder / 'cert.pem'}: good" in good
    assert "Responder Id:" in good and "OCSP Responder" in good  # the delegated responder's certificate is sent

    revoked_at = signing.revoke(answer.serial_number, RevocationReason.AFFILIATION_CHANGED,
                                requested_by=officers["senior_reviewer"], confirmed_by=officers["admin"]).revoked_at
    revoked, _ = openssl_ocsp(signing_url, folder, *cert)
    assert f"{folder / 'cert.pem'}: revoked" in revoked
    assert "Reason: affiliationChanged" in revoked
    assert f"Revocation Time: {revoked_at:%b %e %H:%M:%S %Y} GMT" in revoked

    unknown, _ = openssl_ocsp(signing_url, folder, "-serial", "0x" + "5a" * 16)
    assert f"0x{'5a' * 16}: unknown" in unknown


def cryptography_request(answer, nonce: bytes | None) -> bytes:
    builder = ocsp.OCSPRequestBuilder().add_certificate(
        certificate(answer), x509.load_pem_x509_certificate(answer.chain_pem[0].encode()), hashes.SHA256())
    if nonce:
        builder = builder.add_extension(x509.OCSPNonce(nonce), critical=False)
    return builder.build().public_bytes(serialization.Encoding.DER)


def test_ocsp_by_get_with_a_sha256_cert_id(signing_url, issued):
    answer, _ = issued
    encoded = urllib.parse.quote(base64.b64encode(cryptography_request(answer, b"nonce-1234567890")).decode(), safe="")
    status, content_type, der = fetch(f"{signing_url}/ocsp/{encoded}")

    assert status == 200 and content_type == "application/ocsp-response"
    response = ocsp.load_der_ocsp_response(der)
    assert response.response_status is ocsp.OCSPResponseStatus.SUCCESSFUL
    assert response.certificate_status is ocsp.OCSPCertStatus.GOOD
    assert response.serial_number == int(answer.serial_number, 16)
    assert response.extensions.get_extension_for_class(x509.OCSPNonce).value.nonce == b"nonce-1234567890"
    assert (response.next_update_utc - response.this_update_utc).total_seconds() == 3600


def test_ocsp_by_get_keeps_two_slashes_in_a_row(signing_url, issued):
    answer, _ = issued
    for attempt in range(100_000):  # a nonce whose request's base64 has "//" (about one in forty)
        nonce = attempt.to_bytes(8, "big")
        encoded = base64.b64encode(cryptography_request(answer, nonce)).decode()
        if "//" in encoded:
            break
    status, _, der = fetch(f"{signing_url}/ocsp/{encoded}")
    response = ocsp.load_der_ocsp_response(der)
    assert status == 200 and response.response_status is ocsp.OCSPResponseStatus.SUCCESSFUL
    assert response.extensions.get_extension_for_class(x509.OCSPNonce).value.nonce == nonce


def test_ocsp_without_a_nonce_answers_without_one(signing_url, issued):
    answer, _ = issued
    _, _, der = fetch(f"{signing_url}/ocsp", cryptography_request(answer, None), "application/ocsp-request")
    response = ocsp.load_der_ocsp_response(der)
    assert response.certificate_status is ocsp.OCSPCertStatus.GOOD and len(response.extensions) == 0


@pytest.mark.parametrize("body, content_type", [(b"not a request", "application/ocsp-request"),
                                                (b"", "application/ocsp-request"),
                                                (b"0\x00", "application/json")])
def test_ocsp_answers_a_malformed_request_as_such(signing_url, body, content_type):
    status, _, der = fetch(f"{signing_url}/ocsp", body, content_type)
    assert status == 200
    assert ocsp.load_der_ocsp_response(der).response_status is ocsp.OCSPResponseStatus.MALFORMED_REQUEST


@pytest.mark.parametrize("path", ["MA//AA==", "not%20base64!", "AAAA"])
def test_ocsp_by_get_answers_a_malformed_request_as_such(signing_url, path):
    status, _, der = fetch(f"{signing_url}/ocsp/{path}")
    assert status == 200
    assert ocsp.load_der_ocsp_response(der).response_status is ocsp.OCSPResponseStatus.MALFORMED_REQUEST


def test_ocsp_about_another_issuer_is_unauthorized(signing_url, issued):
    answer, _ = issued
    root = x509.load_pem_x509_certificate(answer.chain_pem[1].encode())
    issuing = x509.load_pem_x509_certificate(answer.chain_pem[0].encode())
    request = ocsp.OCSPRequestBuilder().add_certificate(issuing, root, hashes.SHA1()).build()
    _, _, der = fetch(f"{signing_url}/ocsp", request.public_bytes(serialization.Encoding.DER),
                      "application/ocsp-request")
    assert ocsp.load_der_ocsp_response(der).response_status is ocsp.OCSPResponseStatus.UNAUTHORIZED


def test_the_ca_certificates_are_served_where_certificates_say(signing_url, issued):
    answer, _ = issued
    issuers = certificate(answer).extensions.get_extension_for_class(x509.AuthorityInformationAccess).value
    ca_issuers = next(d.access_location.value for d in issuers
                      if d.access_method == x509.AuthorityInformationAccessOID.CA_ISSUERS)
    status, content_type, der = fetch(served(signing_url, ca_issuers))
    assert status == 200 and content_type == "application/pkix-cert"
    assert x509.load_der_x509_certificate(der) == x509.load_pem_x509_certificate(answer.chain_pem[0].encode())
    assert fetch(f"{signing_url}/ca/{'0' * 32}.crt")[0] == 404
    assert fetch(f"{signing_url}/crl/{'0' * 32}.crl")[0] == 404
