"""What an end-entity certificate says: the subject made from the order's reviewed data, and the
extensions its product's profile (models.CertificateProfile) asks for.

The subject of a unit certificate, most significant first:

    C=CN, ST=<province>, L=<city>, O=<organisation name>,
    organizationIdentifier=NTRCN-<unified social credit code>, CN=<organisation name>

The credit code goes in organizationIdentifier (2.5.4.97) in the ETSI EN 319 412-1 (5.1.4) form:
"NTR" (a national trade register), the country, a hyphen, the register's number. Relying
parties that know the EU practice read it without a local convention, and the prefix says which
register the number is from should another kind of identifier ever be needed. Province and city
are the names of the order's region codes (documents.regions, GB/T 2260), as the applicant chose
them and the reviewer saw them.

The subject of a personal certificate:

    C=CN, CN=<holder's name>, serialNumber=<models.sealed.subject_serial>

The ID number is never in a certificate: serialNumber (2.5.4.5) holds a keyed digest of the ID
type and number, the same for the same person in each of their certificates, from which the number
cannot be read back.
"""
from __future__ import annotations

from asn1crypto import keys, x509
from cryptography import x509 as cx509

from documents import regions
from issuance import certificates
from issuance.interfaces import PolicyRefused
from models import CertificateProfile, CertKind, Order, Organisation, Person

ORGANIZATION_IDENTIFIER_PREFIX = "NTRCN-"
# RFC 5280 Appendix A upper bounds (ub-organization-name, ub-common-name).
MAX_NAME_LENGTH = 64
KEY_USAGES = frozenset({"digital_signature", "non_repudiation", "key_encipherment", "data_encipherment",
                        "key_agreement"})
_DIRECTORY_STRING = {"2.5.4.6": "printable_string"}  # the country; the rest UTF8String (RFC 5280 4.1.2.4)


def name_of(attributes: list[tuple[str, str]]) -> x509.Name:
    """A name with one attribute per RDN, in the order given (asn1crypto's Name.build would
    sort them its own way)."""
    rdns = []
    for oid, value in attributes:
        rdns.append(x509.RelativeDistinguishedName([x509.NameTypeAndValue({
            "type": oid, "value": x509.DirectoryString(name=_DIRECTORY_STRING.get(oid, "utf8_string"), value=value),
        })]))
    return x509.Name(name="", value=x509.RDNSequence(rdns))


def subject_attributes(order: Order) -> list[tuple[str, str]]:
    """(OID, value) of each subject attribute of the order's certificate, most significant first;
    PolicyRefused when the reviewed data cannot make a subject."""
    if order.cert_kind is CertKind.PERSONAL:
        return personal_subject_attributes(order.holder)
    return unit_subject_attributes(order.organisation)


def unit_subject_attributes(organisation: Organisation) -> list[tuple[str, str]]:
    """A unit certificate's subject: the organisation where it is registered."""
    province, city = _region(organisation.region_province, organisation.region_city)
    _check_length(organisation.name, "the organisation name", "O and CN")
    return [("2.5.4.6", "CN"), ("2.5.4.8", province), ("2.5.4.7", city), ("2.5.4.10", organisation.name),
            ("2.5.4.97", ORGANIZATION_IDENTIFIER_PREFIX + organisation.credit_code), ("2.5.4.3", organisation.name)]


def personal_subject_attributes(holder: Person) -> list[tuple[str, str]]:
    """A personal certificate's subject: the holder's name, and for their ID the keyed digest
    models.sealed.subject_serial, never the number itself. No place: where a person lives is no part
    of who they are, and a move would otherwise need a new certificate."""
    _check_length(holder.name, "the holder's name", "CN")
    if not holder.subject_serial:
        raise PolicyRefused("holder_unidentified", "the holder's ID type and number are not on file")
    return [("2.5.4.6", "CN"), ("2.5.4.3", holder.name), ("2.5.4.5", holder.subject_serial)]


def _region(province_code: str, city_code: str) -> tuple[str, str]:
    province = regions.province_name(province_code)
    city = regions.city_name(city_code)
    if province is None or city is None or not regions.is_city_of(province_code, city_code):
        raise PolicyRefused("region_unknown", f"the order's region {province_code}/{city_code} is no province "
                                              "and city of ours")
    return province, city


def _check_length(name: str, what: str, attributes: str) -> None:
    if len(name) > MAX_NAME_LENGTH:
        raise PolicyRefused("name_too_long", f"{what} is longer than the {MAX_NAME_LENGTH} characters a "
                                             f"certificate's {attributes} may hold (RFC 5280)")


def subject(order: Order) -> x509.Name:
    return name_of(subject_attributes(order))


def subject_text(attributes: list[tuple[str, str]]) -> str:
    """The subject as RFC 4514 text, as issuance.certificates.subject_text writes it."""
    name = cx509.Name([cx509.NameAttribute(cx509.ObjectIdentifier(oid), value) for oid, value in attributes])
    return name.rfc4514_string(certificates.RFC4514_NAMES)


def ca_subject(common_name: str, organisation: str) -> x509.Name:
    return name_of([("2.5.4.6", "CN"), ("2.5.4.10", organisation), ("2.5.4.3", common_name)])


def _listed(text: str) -> list[str]:
    return [item.strip() for item in text.split(",") if item.strip()]


def key_types(profile: CertificateProfile) -> list[str]:
    return _listed(profile.key_types)


# The key types a request may carry (what the station's tokens generate).
REQUEST_KEY_TYPES = frozenset({"rsa2048", "rsa3072", "rsa4096", "ec_p256", "ec_p384"})


def problems(profile: CertificateProfile) -> list[str]:
    """What keeps `profile` from making certificates: the admin screen refuses to save it, and
    issuing with it is refused (a typo in the admin screen must never issue)."""
    found = []
    types = set(key_types(profile))
    if not types or types - REQUEST_KEY_TYPES:
        found.append(f"key types {profile.key_types!r}: each is one of {', '.join(sorted(REQUEST_KEY_TYPES))}")
    usages = set(_listed(profile.key_usage))
    if not usages or usages - KEY_USAGES:
        found.append(f"key usages {profile.key_usage!r}: each is one of {', '.join(sorted(KEY_USAGES))}")
    known = set(x509.KeyPurposeId._map.values())
    if any(p not in known and not _is_oid(p) for p in _listed(profile.extended_key_usage)):
        found.append(f"extended key usages {profile.extended_key_usage!r}: names or dotted OIDs")
    if not _is_oid(profile.policy_oid or ""):
        found.append(f"policy {profile.policy_oid!r} is no dotted OID")
    return found


def extensions(profile: CertificateProfile, public_key: keys.PublicKeyInfo, issuer_key: keys.PublicKeyInfo, *,
               crl_url: str, ocsp_url: str, issuer_url: str) -> list[dict]:
    """The end-entity extensions of `profile`; PolicyRefused("profile_invalid") when it cannot
    make certificates (see `problems`)."""
    if found := problems(profile):
        raise PolicyRefused("profile_invalid", f"profile {profile.code}: {'; '.join(found)}")
    usages = set(_listed(profile.key_usage))
    purposes = _listed(profile.extended_key_usage)
    ext = certificates.extension
    made = [ext("basic_constraints", {"ca": False}, critical=True),
            ext("key_usage", usages, critical=True)]
    if purposes:
        made.append(ext("extended_key_usage", purposes))
    made += [ext("certificate_policies", [{"policy_identifier": profile.policy_oid}]),
             *certificates.identifiers(public_key, issuer_key),
             *certificates.distribution_extensions(crl_url, ocsp_url, issuer_url)]
    return made


def _is_oid(text: str) -> bool:
    parts = text.split(".")
    return len(parts) >= 2 and all(part.isdigit() for part in parts) and parts[0] in ("0", "1", "2")
