"""The PKCS#11 operations on a USB key (a token), over python-pkcs11 0.10.1 and, for C_InitToken and
closing sessions, a small ctypes binding of the same module.

Why it looks the way it does (measured on SoftHSM2 2.6.1, which stands in for the keys):

- A token is found **by its serial**, never by its slot ID: SoftHSM2 gives a token another slot ID
  once it is initialised, and a real reader numbers slots as keys come and go.
- A loaded module lists the tokens it found when it was initialised: a token made (plugged in)
  while the agent runs shows only after C_Finalize + C_Initialize (`Station.refresh`, python-pkcs11's
  `lib.reinitialize()`). Re-initialising closes every session, so the agent does it only between
  jobs (before each poll) or when a job's token is not found. SoftHSM2 also re-reads SOFTHSM2_CONF
  then, which is how the tests give each test a token store of its own.
- python-pkcs11 0.10.1 has no C_InitToken: `_Cryptoki` calls it through C_GetFunctionList of the
  same module (the dynamic loader hands out the one copy python-pkcs11 loaded, so both share state;
  a vendor module that exports only C_GetFunctionList works too).
- python-pkcs11 leaves the session it opened behind when a login fails, and a read-only session
  left open makes a later SO login fail (SessionReadOnlyExists): every failed login, and every SO
  operation, closes all the token's sessions first (C_CloseAllSessions).
- A pulled key (SoftHSM2: its store folder moved away) answers the next call with GeneralError or
  ObjectHandleInvalid, and may answer a search with nothing at all: after any unexpected error the
  token's presence is checked, so the caller gets TokenPulled rather than a generic TokenFailed.
- SoftHSM2 never locks a PIN; real keys lock after 10 wrong tries. Counting the tries the agent
  drives is agent.programming's work: here a wrong PIN only raises WrongPin(kind).
- SoftHSM2 has no CKM_ECDSA_SHA256: EC signatures hash with SHA-256 here and sign the digest with
  plain CKM_ECDSA, then DER-encode r||s as X.509 and the back office expect.
"""
from __future__ import annotations

import ctypes
import hashlib
import secrets
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import pkcs11
from asn1crypto import algos, core, csr, keys, pem, x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from pkcs11 import Attribute, MechanismFlag, ObjectClass
from pkcs11.util.ec import encode_ec_public_key, encode_ecdsa_signature, encode_named_curve_parameters
from pkcs11.util.rsa import encode_rsa_public_key
from pkcs11.util.x509 import decode_x509_certificate

from protocol.helper import KeyOnPc
from protocol.station import KeyType, PinKind, TokenSeen

SOFTHSM2_MODULE = "/usr/lib/softhsm/libsofthsm2.so"

# The return values the ctypes calls tell apart.
_CKR_OK = 0x000
_CKR_SLOT_ID_INVALID = 0x003
_CKR_GENERAL_ERROR = 0x005
_CKR_DEVICE_ERROR = 0x030
_CKR_DEVICE_REMOVED = 0x032
_CKR_PIN_INCORRECT = 0x0A0
_CKR_PIN_LOCKED = 0x0A4
_CKR_SESSION_EXISTS = 0x0B6
_CKR_TOKEN_NOT_PRESENT = 0x0E0
_CKR_TOKEN_NOT_RECOGNIZED = 0x0E1
_CKR_CRYPTOKI_ALREADY_INITIALIZED = 0x191
_GONE = {_CKR_SLOT_ID_INVALID, _CKR_GENERAL_ERROR, _CKR_DEVICE_ERROR, _CKR_DEVICE_REMOVED, _CKR_TOKEN_NOT_PRESENT,
         _CKR_TOKEN_NOT_RECOGNIZED}

# What a wrong or unusable PIN looks like in python-pkcs11.
_PIN_REFUSED = (pkcs11.PinIncorrect, pkcs11.PinInvalid, pkcs11.PinLenRange)


# --- errors ------------------------------------------------------------------------------------


class TokenError(Exception):
    """A token operation did not happen; `code` is the failure the back office is told
    (protocol.station.FAILURES)."""

    code = "token_error"


class TokenNotFound(TokenError):
    code = "token_not_found"


class TokenPulled(TokenError):
    code = "token_pulled"


class TokenFailed(TokenError):
    """The token answered with an error that is neither a PIN's nor its absence."""

    code = "token_error"


class WrongPin(TokenError):
    """A login (or C_InitToken) with a wrong PIN: the token counted one try against `kind`."""

    code = "token_error"

    def __init__(self, kind: PinKind, message: str = ""):
        super().__init__(message or f"wrong {kind.value} PIN")
        self.kind = kind


class PinLocked(TokenError):
    """The token says the PIN is locked."""

    code = "pin_locked"

    def __init__(self, kind: PinKind, message: str = ""):
        super().__init__(message or f"the {kind.value} PIN is locked")
        self.kind = kind


class UserPinNotSet(TokenError):
    """The user PIN was never set since the token was initialised (no try was counted)."""


# --- what is on a token ------------------------------------------------------------------------


@dataclass(frozen=True)
class KeyPairFound:
    key_id: bytes
    label: str
    public_key: keys.PublicKeyInfo | None  # None: a private key without its public key
    has_private: bool


@dataclass(frozen=True)
class CertificateFound:
    key_id: bytes
    label: str
    der: bytes


# --- the C_InitToken binding -------------------------------------------------------------------

_RV = ctypes.c_ulong  # CK_ULONG is C's unsigned long, on Windows too
_ULONG = ctypes.c_ulong


class _Version(ctypes.Structure):
    _fields_ = [("major", ctypes.c_ubyte), ("minor", ctypes.c_ubyte)]


class _FunctionList(ctypes.Structure):
    """CK_FUNCTION_LIST up to C_CloseAllSessions (the rest is never read through this pointer)."""

    if sys.platform == "win32":
        _pack_ = 1  # cryptoki structures are packed to 1 byte on Windows
    _fields_ = [
        ("version", _Version),
        ("C_Initialize", ctypes.CFUNCTYPE(_RV, ctypes.c_void_p)),
        ("C_Finalize", ctypes.c_void_p),
        ("C_GetInfo", ctypes.c_void_p),
        ("C_GetFunctionList", ctypes.c_void_p),
        ("C_GetSlotList", ctypes.c_void_p),
        ("C_GetSlotInfo", ctypes.c_void_p),
        ("C_GetTokenInfo", ctypes.c_void_p),
        ("C_GetMechanismList", ctypes.c_void_p),
        ("C_GetMechanismInfo", ctypes.c_void_p),
        ("C_InitToken", ctypes.CFUNCTYPE(_RV, _ULONG, ctypes.c_char_p, _ULONG, ctypes.c_char_p)),
        ("C_InitPIN", ctypes.c_void_p),
        ("C_SetPIN", ctypes.c_void_p),
        ("C_OpenSession", ctypes.c_void_p),
        ("C_CloseSession", ctypes.c_void_p),
        ("C_CloseAllSessions", ctypes.CFUNCTYPE(_RV, _ULONG)),
    ]


class _Cryptoki:
    """The module's function list, for the calls python-pkcs11 0.10.1 does not bind."""

    def __init__(self, module: str):
        library = ctypes.CDLL(module)
        get_function_list = library.C_GetFunctionList
        get_function_list.restype = _RV
        get_function_list.argtypes = [ctypes.POINTER(ctypes.POINTER(_FunctionList))]
        functions = ctypes.POINTER(_FunctionList)()
        rv = get_function_list(ctypes.byref(functions))
        if rv != _CKR_OK:
            raise TokenFailed(f"C_GetFunctionList of {module} failed: 0x{rv:x}")
        self._library = library  # kept: the function pointers live as long as the module is loaded
        self._functions = functions.contents

    def initialize(self) -> None:
        rv = self._functions.C_Initialize(None)
        if rv not in (_CKR_OK, _CKR_CRYPTOKI_ALREADY_INITIALIZED):
            raise TokenFailed(f"C_Initialize failed: 0x{rv:x}")

    def init_token(self, slot_id: int, so_pin: str, label: str) -> int:
        """C_InitToken's return value."""
        self.initialize()
        pin = so_pin.encode()
        return self._functions.C_InitToken(slot_id, pin, len(pin), padded_label(label))

    def close_all_sessions(self, slot_id: int) -> int:
        return self._functions.C_CloseAllSessions(slot_id)


def padded_label(label: str) -> bytes:
    """A token label as CK_TOKEN_INFO holds it: UTF-8, at most 32 bytes (cut at a character's
    boundary), padded with blanks."""
    data = label.encode()[:32]
    while True:
        try:
            data.decode()
            break
        except UnicodeDecodeError:
            data = data[:-1]
    return data.ljust(32, b" ")


# --- the station's tokens ----------------------------------------------------------------------


class Station:
    """The tokens of one PKCS#11 module (the keys plugged in at this station)."""

    def __init__(self, module: str = SOFTHSM2_MODULE):
        self.module = module
        try:
            self.lib = pkcs11.lib(module)  # one per module and process, initialised on loading
        except pkcs11.PKCS11Error as exc:
            raise TokenFailed(f"cannot load the PKCS#11 module {module}: {exc}") from exc
        self._cryptoki = _Cryptoki(module)

    def refresh(self) -> None:
        """Re-initialise the module so it sees the tokens plugged in (made) since; closes every
        session, so never while a job holds one."""
        try:
            self.lib.reinitialize()
        except pkcs11.PKCS11Error as exc:
            raise TokenFailed(f"cannot re-initialise {self.module}: {type(exc).__name__}") from exc

    # --- finding tokens

    def _tokens(self) -> Iterator[pkcs11.Token]:
        for slot in self.lib.get_slots(token_present=True):
            try:
                token = slot.get_token()
            except pkcs11.PKCS11Error:  # TokenNotPresent, TokenNotRecognised, GeneralError of a pulled one
                continue
            if token.flags & pkcs11.TokenFlag.TOKEN_INITIALIZED and serial_text(token.serial):
                yield token

    def present(self) -> list[TokenSeen]:
        """The initialised tokens present, as the poll tells the back office. `blank` is true when a
        public session sees no object on the token: a key as it comes from the supplier (programmed
        keys hold their certificate, a public object). The agent tries no PIN to tell: that a
        blank key still has the transport SO PIN is learnt when a job initialises it. SoftHSM2's
        spare uninitialised slot is no key and is left out."""
        seen = []
        try:
            for token in self._tokens():
                seen.append(TokenSeen(serial=serial_text(token.serial), label=token.label, model=token.model,
                                      blank=self._holds_nothing_public(token)))
        except pkcs11.PKCS11Error as exc:
            raise TokenFailed(f"cannot list the tokens: {type(exc).__name__}") from exc
        return seen

    def keys_on_pc(self) -> list[KeyOnPc]:
        """The initialised tokens present as the key helper tells the back office: each with its
        end-entity certificates (PEM) a public session reads (no PIN asked) and whether the user PIN
        is locked (CKF_USER_PIN_LOCKED)."""
        seen = []
        try:
            for token in self._tokens():
                seen.append(KeyOnPc(serial=serial_text(token.serial), label=token.label, model=token.model,
                                    user_pin_locked=bool(token.flags & pkcs11.TokenFlag.USER_PIN_LOCKED),
                                    certificates=[certificate_pem(der) for der in self._public_certificates(token)
                                                  if is_end_entity(der)]))
        except pkcs11.PKCS11Error as exc:
            raise TokenFailed(f"cannot list the tokens: {type(exc).__name__}") from exc
        return seen

    @staticmethod
    def _public_certificates(token: pkcs11.Token) -> list[bytes]:
        try:
            with token.open() as session:
                return [bytes(c[Attribute.VALUE]) for c in session.get_objects(
                    {Attribute.CLASS: ObjectClass.CERTIFICATE})]
        except pkcs11.PKCS11Error:
            return []  # a key that cannot be read now shows without certificates

    @staticmethod
    def _holds_nothing_public(token: pkcs11.Token) -> bool:
        try:
            with token.open() as session:
                return next(iter(session.get_objects()), None) is None
        except pkcs11.PKCS11Error:
            return False  # cannot tell: never offered as blank

    def token(self, serial: str) -> pkcs11.Token:
        """The token with this serial; the module is re-initialised once when it is not listed
        (a token plugged in since). TokenNotFound when it is not there either."""
        for attempt in (1, 2):
            try:
                for token in self._tokens():
                    if serial_text(token.serial) == serial:
                        return token
            except pkcs11.PKCS11Error as exc:
                raise TokenFailed(f"cannot list the tokens: {type(exc).__name__}") from exc
            if attempt == 1:
                self.refresh()
        raise TokenNotFound(f"no token with serial {serial} is plugged in")

    def is_present(self, serial: str, slot_id: int) -> bool:
        """Whether the token is still in its slot (without re-initialising the module)."""
        try:
            return serial_text(_slot_token(self.lib, slot_id).serial) == serial
        except (pkcs11.PKCS11Error, LookupError):
            return False

    @contextmanager
    def _guard(self, serial: str, slot_id: int, what: str) -> Iterator[None]:
        """PKCS#11 errors as TokenErrors: TokenPulled when the token is gone after the error."""
        try:
            yield
        except TokenError:
            raise
        except pkcs11.PKCS11Error as exc:
            if not self.is_present(serial, slot_id):
                raise TokenPulled(f"token {serial} was pulled ({what}: {type(exc).__name__})") from exc
            raise TokenFailed(f"token {serial}: {what} failed: {type(exc).__name__} {exc}".rstrip()) from exc

    def close_sessions(self, token: pkcs11.Token) -> None:
        self._cryptoki.close_all_sessions(token.slot.slot_id)

    def _login_failed(self, token: pkcs11.Token, kind: PinKind, exc: Exception) -> TokenError:
        # python-pkcs11 left the session of the failed login open: close it (and any other).
        self.close_sessions(token)
        if isinstance(exc, _PIN_REFUSED):
            return WrongPin(kind, f"wrong {kind.value} PIN for token {serial_text(token.serial)}")
        if isinstance(exc, pkcs11.PinLocked):
            return PinLocked(kind)
        if isinstance(exc, pkcs11.UserPinNotInitialized):
            return UserPinNotSet(f"token {serial_text(token.serial)} has no user PIN")
        if not self.is_present(serial_text(token.serial), token.slot.slot_id):
            return TokenPulled(f"token {serial_text(token.serial)} was pulled ({type(exc).__name__})")
        return TokenFailed(f"{kind.value} login on token {serial_text(token.serial)} failed: {type(exc).__name__}")

    @contextmanager
    def _so_session(self, token: pkcs11.Token, so_pin: str) -> Iterator[pkcs11.Session]:
        """A read-write session logged in as SO (no other session may be open for that)."""
        self.close_sessions(token)
        try:
            session = token.open(rw=True, so_pin=so_pin)
        except pkcs11.PKCS11Error as exc:
            raise self._login_failed(token, PinKind.SO, exc) from exc
        try:
            yield session
        finally:
            try:
                session.close()
            except pkcs11.PKCS11Error:
                pass  # a pulled token: the operation's own error says so

    # --- PINs

    def init_token(self, serial: str, so_pin: str, label: str) -> None:
        """C_InitToken: everything on the token is erased, the SO PIN stays (it must be given
        right: WrongPin(so) otherwise), the user PIN is unset, the serial stays."""
        token = self.token(serial)
        slot_id = token.slot.slot_id
        self.close_sessions(token)  # C_InitToken refuses while sessions are open
        rv = self._cryptoki.init_token(slot_id, so_pin, label)
        if rv == _CKR_OK:
            return
        if rv == _CKR_PIN_INCORRECT:
            raise WrongPin(PinKind.SO, f"wrong SO PIN for token {serial}")
        if rv == _CKR_PIN_LOCKED:
            raise PinLocked(PinKind.SO)
        if rv in _GONE and not self.is_present(serial, slot_id):
            raise TokenPulled(f"token {serial} was pulled (C_InitToken: 0x{rv:x})")
        if rv == _CKR_SESSION_EXISTS:
            raise TokenFailed(f"token {serial} has sessions open another program holds")
        raise TokenFailed(f"C_InitToken on token {serial} failed: 0x{rv:x}")

    def set_so_pin(self, serial: str, so_pin: str, new_so_pin: str) -> None:
        """C_SetPIN logged in as SO."""
        token = self.token(serial)
        with self._guard(serial, token.slot.slot_id, "setting the SO PIN"), \
                self._so_session(token, so_pin) as session:
            session.set_pin(so_pin, new_so_pin)

    def init_user_pin(self, serial: str, so_pin: str, user_pin: str) -> None:
        """C_InitPIN logged in as SO: sets (or resets) the user PIN."""
        token = self.token(serial)
        with self._guard(serial, token.slot.slot_id, "setting the user PIN"), \
                self._so_session(token, so_pin) as session:
            session.init_pin(user_pin)

    def objects_after_init(self, serial: str, so_pin: str, label: str) -> int:
        """How many objects a token just initialised holds, private ones included: a user login is
        the only way to see those, and C_InitToken leaves no user PIN, so a one-off user PIN is set
        (C_InitPIN as SO), every object a user session sees is counted, and the token is initialised
        again with `so_pin` (which checks that PIN) to leave it without a user PIN, as it was."""
        token = self.token(serial)
        with self._guard(serial, token.slot.slot_id, "setting a one-off user PIN"), \
                self._so_session(token, so_pin) as session:
            one_off = secrets.token_hex(8)
            session.init_pin(one_off)
        with self.user_session(serial, one_off) as key, self._guard(serial, key.slot_id, "counting the objects"):
            found = sum(1 for _obj in key.session.get_objects())
        self.init_token(serial, so_pin, label)
        return found

    def check_so_pin(self, serial: str, so_pin: str) -> None:
        """An SO login and out: WrongPin(so) when the PIN is wrong."""
        token = self.token(serial)
        with self._guard(serial, token.slot.slot_id, "SO login"), self._so_session(token, so_pin):
            pass

    @contextmanager
    def user_session(self, serial: str, user_pin: str) -> Iterator[KeySession]:
        """A read-write session logged in as the user: WrongPin(user), UserPinNotSet, PinLocked."""
        token = self.token(serial)
        slot_id = token.slot.slot_id
        try:
            session = token.open(rw=True, user_pin=user_pin)
        except pkcs11.PKCS11Error as exc:
            raise self._login_failed(token, PinKind.USER, exc) from exc
        try:
            yield KeySession(self, session, serial, slot_id)
        finally:
            try:
                session.close()
            except pkcs11.PKCS11Error:
                self._cryptoki.close_all_sessions(slot_id)


def _slot_token(lib, slot_id: int) -> pkcs11.Token:
    for slot in lib.get_slots(token_present=True):
        if slot.slot_id == slot_id:
            return slot.get_token()
    raise LookupError(slot_id)


def serial_text(serial: bytes | str) -> str:
    """CK_TOKEN_INFO.serialNumber as text (python-pkcs11 0.10.1 gives bytes, blank-padded)."""
    if isinstance(serial, bytes):
        serial = serial.decode("ascii", "replace")
    return serial.strip()


# --- a logged-in session -------------------------------------------------------------------------


def public_key_info(public_key) -> keys.PublicKeyInfo:
    """A public key object's SubjectPublicKeyInfo, as a request and a certificate carry it."""
    if public_key.key_type == pkcs11.KeyType.EC:
        return keys.PublicKeyInfo.load(encode_ec_public_key(public_key))
    return keys.PublicKeyInfo({"algorithm": {"algorithm": "rsa", "parameters": core.Null()},
                               "public_key": keys.RSAPublicKey.load(encode_rsa_public_key(public_key))})


def same_public_key(a: keys.PublicKeyInfo, b: keys.PublicKeyInfo) -> bool:
    """The same key, whatever optional encodings the two SubjectPublicKeyInfos chose."""
    return _canonical(a) == _canonical(b)


def _canonical(info: keys.PublicKeyInfo) -> bytes:
    return serialization.load_der_public_key(info.dump()).public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)


def name(attributes: list[tuple[str, str]]) -> x509.Name:
    """An X.501 name with one attribute per RDN in the order given; the country a PrintableString,
    the rest UTF8String (RFC 5280 4.1.2.4)."""
    rdns = []
    for oid, value in attributes:
        kind = "printable_string" if oid == "2.5.4.6" else "utf8_string"
        rdns.append(x509.RelativeDistinguishedName([x509.NameTypeAndValue({
            "type": oid, "value": x509.DirectoryString(name=kind, value=value)})]))
    return x509.Name(name="", value=x509.RDNSequence(rdns))


def certificate_der(certificate_pem: str) -> bytes:
    _kind, _headers, der = pem.unarmor(certificate_pem.encode())
    return der


def certificate_pem(der: bytes) -> str:
    return pem.armor("CERTIFICATE", der).decode()


def is_end_entity(der: bytes) -> bool:
    """A key holder's certificate, not a CA's: BasicConstraints does not say CA and it is not
    self-signed (a root written without the extension). One that does not parse is left out."""
    try:
        certificate = x509.Certificate.load(der)
        return not certificate.ca and certificate.self_signed == "no"
    except (ValueError, TypeError):
        return False


def _ca_key_id(certificate: x509.Certificate) -> bytes:
    """A CA certificate's CKA_ID: the SHA-1 of its public key (the usual subject key identifier),
    never the end-entity key pair's random ID."""
    return hashlib.sha1(certificate.public_key["public_key"].contents).digest()  # noqa: S324 - an ID, not security


class KeySession:
    """A read-write session logged in as the user; every call raises TokenErrors only."""

    def __init__(self, station: Station, session: pkcs11.Session, serial: str, slot_id: int):
        self.station, self.session, self.serial, self.slot_id = station, session, serial, slot_id

    def _guard(self, what: str):
        return self.station._guard(self.serial, self.slot_id, what)

    def _not_there(self, message: str) -> TokenError:
        """An object looked for is not there: a pulled token finds nothing, without an error."""
        if not self.station.is_present(self.serial, self.slot_id):
            return TokenPulled(f"token {self.serial} was pulled ({message})")
        return TokenFailed(f"token {self.serial}: {message}")

    # --- what is there

    def key_pairs(self) -> list[KeyPairFound]:
        """The key pairs on the token by CKA_ID (a private key without a public one included)."""
        with self._guard("listing the keys"):
            publics = list(self.session.get_objects({Attribute.CLASS: ObjectClass.PUBLIC_KEY}))
            privates = list(self.session.get_objects({Attribute.CLASS: ObjectClass.PRIVATE_KEY}))
            found = [KeyPairFound(key_id=bytes(key[Attribute.ID]), label=key[Attribute.LABEL],
                                  public_key=public_key_info(key),
                                  has_private=any(bytes(p[Attribute.ID]) == bytes(key[Attribute.ID]) for p in privates))
                     for key in publics]
            ids = {pair.key_id for pair in found}
            found += [KeyPairFound(key_id=bytes(p[Attribute.ID]), label=p[Attribute.LABEL], public_key=None,
                                   has_private=True) for p in privates if bytes(p[Attribute.ID]) not in ids]
        return found

    def certificates(self) -> list[CertificateFound]:
        with self._guard("listing the certificates"):
            return [CertificateFound(key_id=bytes(c[Attribute.ID]), label=c[Attribute.LABEL],
                                     der=bytes(c[Attribute.VALUE]))
                    for c in self.session.get_objects({Attribute.CLASS: ObjectClass.CERTIFICATE})]

    def clear_except(self, certificate: bytes | None, *, key_id: bytes | None = None) -> bool:
        """Delete every key pair and certificate (only those of CKA_ID `key_id` when given) but the
        key pair of `certificate` (DER) and that certificate itself. The key pair kept is the one whose
        public key is the certificate's and whose private key signs what that public key verifies:
        IDs alone are not trusted (a job cut off while generating may leave a second pair with the
        same ID). True when a pair was kept."""
        wanted = x509.Certificate.load(certificate).public_key if certificate is not None else None
        only = {Attribute.ID: key_id} if key_id is not None else {}
        kept_public = kept_private = None
        with self._guard("deleting old keys"):
            for obj in list(self.session.get_objects({Attribute.CLASS: ObjectClass.PUBLIC_KEY, **only})):
                if kept_public is None and wanted is not None and same_public_key(public_key_info(obj), wanted):
                    kept_public = obj
                else:
                    obj.destroy()
            for obj in list(self.session.get_objects({Attribute.CLASS: ObjectClass.PRIVATE_KEY, **only})):
                if kept_private is None and kept_public is not None and self._signs_for(obj, wanted):
                    kept_private = obj
                else:
                    obj.destroy()
            if kept_public is not None and kept_private is None:
                kept_public.destroy()  # its private key is gone: the pair is no use
                kept_public = None
            kept_certificate = False
            for obj in list(self.session.get_objects({Attribute.CLASS: ObjectClass.CERTIFICATE, **only})):
                if (kept_public is not None and not kept_certificate and bytes(obj[Attribute.VALUE]) == certificate):
                    kept_certificate = True
                else:
                    obj.destroy()
        return kept_public is not None

    def certificate_with_serial(self, serial: str) -> CertificateFound | None:
        """The certificate on the token with this serial number (hex, any case), if any."""
        wanted = int(serial, 16)
        for found in self.certificates():
            try:
                if x509.Certificate.load(found.der).serial_number == wanted:
                    return found
            except (ValueError, TypeError):
                continue
        return None

    def delete_key_pair(self, key_id: bytes) -> int:
        """Delete the private and public keys of CKA_ID `key_id` (the private one first); how many."""
        deleted = 0
        with self._guard("deleting the key pair"):
            for kind in (ObjectClass.PRIVATE_KEY, ObjectClass.PUBLIC_KEY):
                for obj in list(self.session.get_objects({Attribute.CLASS: kind, Attribute.ID: key_id})):
                    obj.destroy()
                    deleted += 1
        return deleted

    def delete_certificate(self, der: bytes) -> bool:
        """Delete the certificate object(s) holding exactly this DER; whether there was one."""
        deleted = False
        with self._guard("deleting the certificate"):
            for obj in list(self.session.get_objects({Attribute.CLASS: ObjectClass.CERTIFICATE})):
                if bytes(obj[Attribute.VALUE]) == der:
                    obj.destroy()
                    deleted = True
        return deleted

    def _signs_for(self, private_key, public_key: keys.PublicKeyInfo) -> bool:
        probe = b"station agent: which key is this?"
        try:
            signature = _sign(private_key, probe)
        except pkcs11.PKCS11Error:
            return False
        return verifies(public_key, probe, signature)

    # --- making a key pair and its request

    def generate(self, key_type: KeyType, key_id: bytes, label: str) -> keys.PublicKeyInfo:
        """A key pair made on the token: token objects, the private key private, sensitive, never
        extractable and able to sign only."""
        private = {Attribute.SENSITIVE: True, Attribute.EXTRACTABLE: False, Attribute.PRIVATE: True,
                   Attribute.TOKEN: True}
        public = {Attribute.TOKEN: True, Attribute.PRIVATE: False}
        options = {"store": True, "label": label, "id": key_id,
                   "capabilities": MechanismFlag.SIGN | MechanismFlag.VERIFY,
                   "private_template": private, "public_template": public}
        with self._guard("generating the key pair"):
            if key_type == KeyType.EC_P256:
                parameters = self.session.create_domain_parameters(
                    pkcs11.KeyType.EC, {Attribute.EC_PARAMS: encode_named_curve_parameters("secp256r1")}, local=True)
                public_key, _private_key = parameters.generate_keypair(
                    mechanism=pkcs11.Mechanism.EC_KEY_PAIR_GEN, **options)
            elif key_type == KeyType.RSA_2048:
                public_key, _private_key = self.session.generate_keypair(
                    pkcs11.KeyType.RSA, 2048, mechanism=pkcs11.Mechanism.RSA_PKCS_KEY_PAIR_GEN,
                    public_template={**public, Attribute.PUBLIC_EXPONENT: b"\x01\x00\x01"},
                    **{k: v for k, v in options.items() if k != "public_template"})
            else:
                raise TokenFailed(f"no key of type {key_type}")
            return public_key_info(public_key)

    def _private_key(self, key_id: bytes):
        with self._guard("finding the private key"):
            try:
                return self.session.get_key(ObjectClass.PRIVATE_KEY, id=key_id)
            except pkcs11.NoSuchKey:
                raise self._not_there(f"no private key with ID {key_id.hex()}") from None
            except pkcs11.MultipleObjectsReturned:
                raise TokenFailed(f"token {self.serial} holds several private keys with ID {key_id.hex()}") from None

    def _public_key(self, key_id: bytes) -> keys.PublicKeyInfo:
        with self._guard("reading the public key"):
            try:
                return public_key_info(self.session.get_key(ObjectClass.PUBLIC_KEY, id=key_id))
            except (pkcs11.NoSuchKey, pkcs11.MultipleObjectsReturned):
                raise self._not_there(f"no single public key with ID {key_id.hex()}") from None

    def sign(self, key_id: bytes, data: bytes) -> bytes:
        """`data` signed with the private key `key_id`: RSA PKCS#1 v1.5 or ECDSA (DER), SHA-256."""
        key = self._private_key(key_id)
        with self._guard("signing"):
            return _sign(key, data)

    def certification_request(self, key_id: bytes, subject: list[tuple[str, str]]) -> str:
        """A PKCS#10 request (PEM) for the key pair `key_id`, signed on the token."""
        public_key = self._public_key(key_id)
        info = csr.CertificationRequestInfo({"version": "v1", "subject": name(subject),
                                             "subject_pk_info": public_key, "attributes": []})
        signature = self.sign(key_id, info.dump())
        algorithm = ({"algorithm": "sha256_rsa", "parameters": core.Null()} if public_key.algorithm == "rsa"
                     else {"algorithm": "sha256_ecdsa"})
        request = csr.CertificationRequest({"certification_request_info": info,
                                            "signature_algorithm": algos.SignedDigestAlgorithm(algorithm),
                                            "signature": signature})
        return pem.armor("CERTIFICATE REQUEST", request.dump()).decode()

    # --- certificates

    def write_certificate(self, der: bytes, key_id: bytes, label: str) -> None:
        """The key holder's certificate, with its key pair's ID and label."""
        with self._guard("writing the certificate"):
            self.session.create_object({**decode_x509_certificate(der), Attribute.TOKEN: True, Attribute.ID: key_id,
                                        Attribute.LABEL: label})

    def write_chain(self, ders: list[bytes]) -> None:
        """The CA certificates, each an object of its own: ID from its public key, label its CN.
        One already on the token (the same DER) is not written again. (No CKA_CERTIFICATE_CATEGORY:
        python-pkcs11 0.10.1 cannot pack that attribute.)"""
        with self._guard("writing the chain"):
            there = {bytes(c[Attribute.VALUE])
                     for c in self.session.get_objects({Attribute.CLASS: ObjectClass.CERTIFICATE})}
            for der in ders:
                if der in there:
                    continue
                certificate = x509.Certificate.load(der)
                label = certificate.subject.native.get("common_name") or "CA"
                self.session.create_object({**decode_x509_certificate(der), Attribute.TOKEN: True,
                                            Attribute.ID: _ca_key_id(certificate), Attribute.LABEL: label[:64]})
                there.add(der)

    def read_certificate(self, key_id: bytes) -> bytes:
        """The DER of the certificate with this ID (TokenFailed when none or several)."""
        with self._guard("reading the certificate"):
            found = [bytes(c[Attribute.VALUE]) for c in self.session.get_objects(
                {Attribute.CLASS: ObjectClass.CERTIFICATE, Attribute.ID: key_id})]
        if len(found) != 1:
            raise self._not_there(f"{len(found)} certificates with ID {key_id.hex()}")
        return found[0]


def _sign(private_key, data: bytes) -> bytes:
    if private_key.key_type == pkcs11.KeyType.RSA:
        return private_key.sign(data, mechanism=pkcs11.Mechanism.SHA256_RSA_PKCS)
    # SoftHSM2 2.6.1 has no CKM_ECDSA_SHA256: hash here, sign the digest, DER-encode r||s.
    return encode_ecdsa_signature(private_key.sign(hashlib.sha256(data).digest(), mechanism=pkcs11.Mechanism.ECDSA))


def verifies(public_key: keys.PublicKeyInfo, data: bytes, signature: bytes) -> bool:
    """Whether `signature` over `data` verifies with `public_key` (as `_sign` makes them)."""
    key = serialization.load_der_public_key(public_key.dump())
    try:
        if isinstance(key, rsa.RSAPublicKey):
            key.verify(signature, data, padding.PKCS1v15(), hashes.SHA256())
        elif isinstance(key, ec.EllipticCurvePublicKey):
            key.verify(signature, data, ec.ECDSA(hashes.SHA256()))
        else:
            return False
    except (InvalidSignature, ValueError):
        return False
    return True
