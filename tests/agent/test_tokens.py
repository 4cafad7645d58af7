"""The token operations of agent.tokens on SoftHSM2 tokens."""
from __future__ import annotations

import os
import shutil

import pkcs11
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding
from pkcs11 import Attribute, ObjectClass

from agent import tokens
from agent.tokens import KeySession, TokenNotFound, TokenPulled, UserPinNotSet, WrongPin, padded_label
from protocol.station import KeyType, PinKind
from tests.agent.conftest import TRANSPORT_SO_PIN, pem

NEW_SO_PIN, USER_PIN = "new-so-pin", "user-pin-8"
SUBJECT = [("2.5.4.6", "CN"), ("2.5.4.10", "测试有限公司"), ("2.5.4.3", "测试有限公司")]


def programmed(keys, label: str = "ESEAL") -> str:
    """A key initialised afresh with NEW_SO_PIN and USER_PIN: its serial."""
    serial = keys.blank()
    keys.station.init_token(serial, TRANSPORT_SO_PIN, label)
    keys.station.set_so_pin(serial, TRANSPORT_SO_PIN, NEW_SO_PIN)
    keys.station.init_user_pin(serial, NEW_SO_PIN, USER_PIN)
    return serial


def verify(certificate: x509.Certificate, signature: bytes, data: bytes) -> None:
    key = certificate.public_key()
    if isinstance(key, ec.EllipticCurvePublicKey):
        key.verify(signature, data, ec.ECDSA(hashes.SHA256()))
    else:
        key.verify(signature, data, padding.PKCS1v15(), hashes.SHA256())


def test_a_blank_key_is_listed_by_its_serial_and_a_key_made_later_shows_after_a_refresh(keys):
    serial = keys.blank("first")
    assert [(t.serial, t.label, t.model, t.blank) for t in keys.station.present()] == [
        (serial, "first", "SoftHSM v2", True)]

    keys.hsm.init_token("second", so_pin=TRANSPORT_SO_PIN)  # plugged in while the module is loaded
    assert [t.label for t in keys.station.present()] == ["first"]  # SoftHSM2 lists what it found at C_Initialize
    keys.station.refresh()
    assert sorted(t.label for t in keys.station.present()) == ["first", "second"]


def test_a_key_plugged_in_again_is_found_by_serial_through_a_refresh_of_its_own(keys):
    serial = keys.blank("replugged")
    [store] = keys.folder.iterdir()
    shutil.move(store, keys.folder.with_name("unplugged"))
    keys.station.refresh()
    assert keys.station.present() == []
    shutil.move(keys.folder.with_name("unplugged"), store)  # plugged in again: the module has not seen it
    assert keys.station.present() == []
    assert keys.station.token(serial).label == "replugged"
    with pytest.raises(TokenNotFound):
        keys.station.token("0000000000000000")


def test_init_token_keeps_the_serial_erases_the_objects_and_wants_the_so_pin(keys):
    serial = programmed(keys)
    with keys.station.user_session(serial, USER_PIN) as key:
        key.generate(KeyType.EC_P256, b"\x01", "ESEAL")
    with pytest.raises(WrongPin) as refused:
        keys.station.init_token(serial, "not-the-so-pin", "AGAIN")
    assert refused.value.kind is PinKind.SO

    keys.station.init_token(serial, NEW_SO_PIN, "AGAIN " * 10)  # a label longer than 32 bytes is cut
    token = keys.station.token(serial)
    assert token.label == "AGAIN AGAIN AGAIN AGAIN AGAIN AG"
    with pytest.raises(UserPinNotSet):  # C_InitToken unsets the user PIN
        with keys.station.user_session(serial, USER_PIN):
            pass
    keys.station.init_user_pin(serial, NEW_SO_PIN, USER_PIN)
    with keys.station.user_session(serial, USER_PIN) as key:
        assert key.key_pairs() == [] and key.certificates() == []


def test_padded_label_is_32_bytes_and_never_cuts_a_character():
    assert padded_label("ESEAL") == b"ESEAL" + b" " * 27
    label = padded_label("电子印章" * 3)  # 36 bytes of UTF-8
    assert len(label) == 32 and label.decode().rstrip() == "电子印章" * 2 + "电子"


def test_the_so_pin_changes_and_the_old_one_fails_and_a_wrong_user_pin_leaves_so_login_working(keys):
    serial = programmed(keys)
    keys.station.check_so_pin(serial, NEW_SO_PIN)
    with pytest.raises(WrongPin) as old:
        keys.station.check_so_pin(serial, TRANSPORT_SO_PIN)
    assert old.value.kind is PinKind.SO

    with pytest.raises(WrongPin) as wrong_user:
        with keys.station.user_session(serial, "not-the-user-pin"):
            pass
    assert wrong_user.value.kind is PinKind.USER
    # python-pkcs11 left the failed login's session open; an SO login works all the same
    keys.station.init_user_pin(serial, NEW_SO_PIN, "another-user-pin")
    with keys.station.user_session(serial, "another-user-pin"):
        pass


def _private_key(key: KeySession, key_id: bytes):
    return key.session.get_key(ObjectClass.PRIVATE_KEY, id=key_id)


@pytest.mark.parametrize("key_type", [KeyType.EC_P256, KeyType.RSA_2048])
def test_a_key_made_on_the_token_never_leaves_it_and_signs_its_request_certificate_and_challenge(keys, ca, key_type):
    serial = programmed(keys)
    key_id = os.urandom(16)
    with keys.station.user_session(serial, USER_PIN) as key:
        key.generate(key_type, key_id, "ESEAL")
        private = _private_key(key, key_id)
        assert private[Attribute.SENSITIVE] and private[Attribute.PRIVATE] and private[Attribute.TOKEN]
        assert not private[Attribute.EXTRACTABLE] and private[Attribute.SIGN] and not private[Attribute.DECRYPT]
        with pytest.raises(pkcs11.AttributeSensitive):
            private[Attribute.PRIVATE_EXPONENT if key_type is KeyType.RSA_2048 else Attribute.VALUE]
        [pair] = key.key_pairs()
        assert (pair.key_id, pair.label, pair.has_private) == (key_id, "ESEAL", True)

        request = x509.load_pem_x509_csr(key.certification_request(key_id, SUBJECT).encode())
        assert request.is_signature_valid
        assert [(a.oid.dotted_string, a.value) for a in request.subject] == SUBJECT
        if key_type is KeyType.RSA_2048:
            assert request.public_key().key_size == 2048 and request.public_key().public_numbers().e == 65537

        certificate = ca.issue(pem_request(request))
        der = certificate.public_bytes(_der())
        key.write_certificate(der, key_id, "ESEAL")
        key.write_chain([c.public_bytes(_der()) for c in (ca.issuing, ca.root)])
        assert key.read_certificate(key_id) == der
        written = {c.label: c for c in key.certificates()}
        assert set(written) == {"ESEAL", "Agent Test Issuing CA", "Agent Test Root"}
        assert len({c.key_id for c in written.values()}) == 3  # the chain never takes the key pair's ID

        challenge = os.urandom(32)
        verify(certificate, key.sign(key_id, challenge), challenge)
    assert not [t for t in keys.station.present() if t.serial == serial][0].blank


def pem_request(request: x509.CertificateSigningRequest) -> str:
    from cryptography.hazmat.primitives.serialization import Encoding

    return request.public_bytes(Encoding.PEM).decode()


def _der():
    from cryptography.hazmat.primitives.serialization import Encoding

    return Encoding.DER


def test_clearing_keeps_only_the_key_pair_of_the_certificate_by_its_public_key(keys, ca):
    serial = programmed(keys)
    key_id = b"\x42" * 16
    with keys.station.user_session(serial, USER_PIN) as key:
        key.generate(KeyType.EC_P256, key_id, "ESEAL")  # a pair left by a run cut off while generating
        key.generate(KeyType.EC_P256, key_id, "ESEAL")  # the same ID: only the public key tells them apart
        key.generate(KeyType.EC_P256, b"\x07", "OTHER")
        pairs = key.key_pairs()
        assert len(pairs) == 3
        # certify the second pair's public key
        kept_public = [p for p in pairs if p.key_id == key_id][1].public_key
        certificate = _certificate_for(ca, kept_public)
        der = certificate.public_bytes(_der())
        key.write_certificate(der, key_id, "ESEAL")
        key.write_chain([ca.issuing.public_bytes(_der())])

        assert key.clear_except(der) is True
        [pair] = key.key_pairs()
        assert tokens.same_public_key(pair.public_key, kept_public) and pair.has_private
        assert [c.der for c in key.certificates()] == [der]
        challenge = os.urandom(32)
        verify(certificate, key.sign(key_id, challenge), challenge)  # the private key kept is the pair's

        assert key.clear_except(None) is False
        assert key.key_pairs() == [] and key.certificates() == []


def _certificate_for(ca, public_key_info) -> x509.Certificate:
    import datetime as dt

    from cryptography.hazmat.primitives.serialization import load_der_public_key
    from cryptography.x509.oid import NameOID

    now = dt.datetime.now(dt.UTC)
    return (x509.CertificateBuilder().subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "ESEAL")]))
            .issuer_name(ca.issuing.subject).public_key(load_der_public_key(public_key_info.dump()))
            .serial_number(x509.random_serial_number()).not_valid_before(now)
            .not_valid_after(now + dt.timedelta(days=1)).sign(ca.issuing_key, hashes.SHA256()))


def test_a_pulled_token_is_named(keys):
    serial = programmed(keys)
    with keys.station.user_session(serial, USER_PIN) as key:
        key.generate(KeyType.EC_P256, b"\x01", "ESEAL")
        shutil.move(keys.folder, keys.folder.with_name("pulled"))
        keys.folder.mkdir()
        with pytest.raises(TokenPulled):
            key.sign(b"\x01", b"data")


def test_pem_helpers_round_trip(ca):
    der = ca.root.public_bytes(_der())
    assert tokens.certificate_der(pem(ca.root)) == der
    assert tokens.certificate_der(tokens.certificate_pem(der)) == der
