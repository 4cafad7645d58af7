"""The two signers behind one suite: a key file read by cryptography and a key on a SoftHSM2 token
each sign what the other's verifier accepts, with the algorithm they name."""
from __future__ import annotations

import os
import stat
import uuid

import pkcs11
import pytest
from asn1crypto import keys
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding

from issuance import signers
from issuance.settings import CaSettings
from tests.softhsm import MODULE, USER_PIN

DATA = "待签名的 TBSCertificate".encode() * 40


@pytest.fixture(params=["keyfile", "pkcs11"])
def settings(request, tmp_path) -> CaSettings:
    token = request.getfixturevalue("softhsm").init_token(f"t-{uuid.uuid4().hex[:8]}") \
        if request.param == "pkcs11" else "unused"
    return CaSettings(signer=request.param, key_folder=tmp_path / "ca", pkcs11_module=MODULE, token_label=token,
                      token_pin=USER_PIN, public_url="http://ca.example.test", crl_next_update=None,
                      organisation="Test CA")


def verify(public_key: keys.PublicKeyInfo, signature: bytes, data: bytes) -> None:
    key = serialization.load_der_public_key(public_key.dump())
    if isinstance(key, ec.EllipticCurvePublicKey):
        key.verify(signature, data, ec.ECDSA(hashes.SHA256()))
    else:
        key.verify(signature, data, padding.PKCS1v15(), hashes.SHA256())


@pytest.mark.parametrize("key_type, algorithm", [("ec_p256", "sha256_ecdsa"), ("rsa2048", "sha256_rsa")])
def test_a_new_key_signs_and_its_opened_signer_too(settings, key_type, algorithm):
    key_ref, made = signers.new_key(settings, "issuing-test", key_type)
    opened = signers.open_signer(key_ref, settings)

    assert opened.public_key.dump() == made.public_key.dump()
    assert made.signature_algorithm["algorithm"].native == algorithm == opened.signature_algorithm["algorithm"].native
    for signer in (made, opened):
        verify(made.public_key, signer.sign(DATA), DATA)
    with pytest.raises(InvalidSignature):
        verify(made.public_key, opened.sign(DATA), DATA + b".")


def test_the_key_cannot_be_made_twice_under_one_name(settings):
    signers.new_key(settings, "root-test", "ec_p256")
    with pytest.raises((signers.SignerError, FileExistsError)):
        signers.new_key(settings, "root-test", "ec_p256")


def test_only_the_key_types_of_a_ca(settings):
    with pytest.raises(signers.SignerError, match="ec_p256"):
        signers.new_key(settings, "odd", "ed25519")


@pytest.mark.parametrize("key_ref", ["file:", "file:../elsewhere.pem", "pkcs11:no-slash", "vault:ca"])
def test_an_unreadable_key_ref_is_refused(settings, key_ref):
    with pytest.raises(signers.SignerError):
        signers.open_signer(key_ref, settings)


def test_a_key_file_is_its_owners_only(tmp_path):
    settings = CaSettings("keyfile", tmp_path / "ca", MODULE, "", "", "http://x", None, "Test CA")
    key_ref, _ = signers.new_key(settings, "issuing-x", "ec_p256")
    path = tmp_path / "ca" / key_ref.removeprefix("file:")
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(tmp_path / "ca").st_mode) == 0o700


def test_a_token_key_never_leaves_the_token(softhsm):
    token = softhsm.init_token(f"t-{uuid.uuid4().hex[:8]}")
    signers.Pkcs11Signer.generate(MODULE, token, USER_PIN, "issuing-x", "rsa2048")
    with pkcs11.lib(MODULE).get_token(token_label=token).open(user_pin=USER_PIN) as session:
        private = session.get_key(pkcs11.ObjectClass.PRIVATE_KEY, label="issuing-x")
        assert private[pkcs11.Attribute.SENSITIVE] and not private[pkcs11.Attribute.EXTRACTABLE]
        assert private[pkcs11.Attribute.TOKEN]
        with pytest.raises(pkcs11.AttributeSensitive):
            private[pkcs11.Attribute.PRIVATE_EXPONENT]


def test_a_wrong_pin_is_named_and_leaves_the_token_usable(softhsm):
    token = softhsm.init_token(f"t-{uuid.uuid4().hex[:8]}")
    signer = signers.Pkcs11Signer.generate(MODULE, token, USER_PIN, "ocsp-x", "ec_p256")

    with pytest.raises(signers.SignerError, match="PIN"):
        signers.Pkcs11Signer(MODULE, token, "000000", "ocsp-x")
    verify(signer.public_key, signer.sign(DATA), DATA)
    # No session was left behind by the failed login: the security officer can still log in.
    with pkcs11.lib(MODULE).get_token(token_label=token).open(rw=True, so_pin="12345678"):
        pass


def test_a_missing_token_is_named(softhsm):
    with pytest.raises(signers.SignerError, match="no token labelled"):
        signers.Pkcs11Signer(MODULE, "nowhere", USER_PIN, "issuing")
