"""A renewal (证书更新) or an information change (信息变更) gets a new certificate for the key of the
certificate it names, and the earlier one is marked superseded once the new one is on the key: the
signing service's rules for both, each refusal by its name, the validity a renewal or a change buys,
and the answer asked again. The rules directly with key files; the live service with both signers."""
from __future__ import annotations

import datetime as dt
import uuid

import pytest
from cryptography import x509
from cryptography.x509.oid import NameOID
from sqlalchemy import func, select

from issuance import authority, crls, operations, policy, profiles
from issuance.interfaces import PolicyRefused
from models import (
    AuditEntry,
    BusinessType,
    CaCertificate,
    Certificate,
    CertificateStatus,
    Order,
    Product,
    RevocationReason,
)
from models.base import utcnow
from review.audit_sentences import sentence
from tests import factories
from tests.issuance.conftest import approve, approved_order, csr_pem
from tests.issuance.test_revocation import issued, openssl_crl, openssl_ocsp  # noqa: F401 (issued: a fixture)
from tests.review.approvals import after_sale, paid
from web.extensions import db

RENEWAL, INFO_CHANGE = BusinessType.RENEWAL, BusinessType.INFO_CHANGE
NEW_NAME = "河南新名称科技有限公司"
OTHER_CREDIT_CODE = factories.credit_code(999999)
keyfile_only = pytest.mark.parametrize("signer_kind", ["keyfile"], indirect=True)


def whole(moment: dt.datetime) -> dt.datetime:
    return moment.astimezone(dt.UTC).replace(microsecond=0)


def succeeding(session, folder: str, earlier: Certificate, business_type: BusinessType, *, name: str | None = None,
               **overrides) -> Order:
    """A paid and approved renewal or information change naming `earlier` (its organisation's name
    changed to `name` when given), flushed."""
    order = paid(session, after_sale(session, folder, earlier, business_type, **overrides))
    if name is not None:
        order.organisation.name = name
    return approve(session, order)


def issue(session, keyring, order: Order, now: dt.datetime | None = None):
    """The order's certificate for a request with the subject its reviewed data makes."""
    subject = [x509.NameAttribute(x509.ObjectIdentifier(oid), value)
               for oid, value in profiles.subject_attributes(order)]
    return operations.issue_certificate(session, keyring, job_id=f"job-{uuid.uuid4()}", order_number=order.number,
                                        csr_pem=csr_pem(subject), now=now)


def refusal(call, *args, **kwargs) -> str:
    with pytest.raises(PolicyRefused) as refused:
        call(*args, **kwargs)
    assert refused.value.message
    return refused.value.rule


def register(session, serial: str) -> Certificate:
    return session.scalars(select(Certificate).where(Certificate.serial_number == serial)).one()


@pytest.fixture
def folder(ca_app) -> str:
    return ca_app.config["UPLOAD_FOLDER"]


@pytest.fixture
def earlier(ca_session, keyring, folder) -> Certificate:
    """A first application's certificate, issued now for a year, in the register (rolled back after)."""
    return register(ca_session, issue(ca_session, keyring, approved_order(ca_session, folder)).serial_number)


def months(session, order: Order) -> int:
    return session.get(Product, order.product_id).validity_months


# --- the validity bought ---------------------------------------------------------------------------


def test_the_seed_example_a_renewal_runs_on_from_the_earlier_end():
    """未过期证书进行更新,新证书有效期在旧证书截止日期基础上顺延一年: renewed 2021-06-24, the earlier
    certificate valid to 2022-06-22, the new one to 2023-06-22 (from the renewal on)."""
    issuing = CaCertificate(not_after=dt.datetime(2030, 1, 1, tzinfo=dt.UTC))
    earlier = Certificate(not_after=dt.datetime(2022, 6, 21, 16, 0, tzinfo=dt.UTC))  # 2022-06-22 00:00 Beijing
    now = dt.datetime(2021, 6, 24, 2, 30, 15, 999, tzinfo=dt.UTC)
    assert policy.validity(Product(validity_months=12), issuing, now, business_type=RENEWAL, earlier=earlier) == (
        dt.datetime(2021, 6, 24, 2, 30, 15, tzinfo=dt.UTC), dt.datetime(2023, 6, 21, 16, 0, tzinfo=dt.UTC))


@keyfile_only
@pytest.mark.parametrize("days_left", [89, 30, 1, 0])
def test_a_renewal_of_a_certificate_not_expired_runs_on_from_its_end(ca_session, keyring, folder, earlier, days_left):
    now = utcnow()
    earlier.not_after = whole(now) + dt.timedelta(days=days_left, seconds=1)
    order = succeeding(ca_session, folder, earlier, RENEWAL)
    answer = issue(ca_session, keyring, order, now)
    assert answer.not_before == whole(now)
    assert answer.not_after == policy.add_months(earlier.not_after, months(ca_session, order))
    assert answer.not_after.year == earlier.not_after.year + 1  # the seed's product: one year
    assert earlier.status is CertificateStatus.VALID, "superseded only once the new one is on the key"


@keyfile_only
@pytest.mark.parametrize("days_expired", [1, 365])
def test_a_renewal_of_an_expired_certificate_runs_from_now(ca_session, keyring, folder, earlier, days_expired):
    now = utcnow()
    earlier.not_after = now - dt.timedelta(days=days_expired)
    order = succeeding(ca_session, folder, earlier, RENEWAL)
    answer = issue(ca_session, keyring, order, now)
    assert (answer.not_before, answer.not_after) == (whole(now), policy.add_months(whole(now), 12))


@keyfile_only
@pytest.mark.parametrize("shift", [dt.timedelta(days=90), dt.timedelta(days=200), -dt.timedelta(days=366)],
                         ids=["90-days-left", "200-days-left", "366-days-expired"])
def test_a_renewal_outside_its_window_is_refused(ca_session, keyring, folder, earlier, shift):
    now = utcnow()
    earlier.not_after = now + shift
    order = succeeding(ca_session, folder, earlier, RENEWAL)
    assert refusal(issue, ca_session, keyring, order, now) == "outside_renewal_window"


@keyfile_only
def test_a_renewal_beyond_the_issuing_ca_is_refused(ca_session, keyring, folder, earlier):
    now = utcnow()
    earlier.not_after = now + dt.timedelta(days=60)
    authority.issuing_ca(ca_session).not_after = now + dt.timedelta(days=300)
    order = succeeding(ca_session, folder, earlier, RENEWAL)
    assert refusal(issue, ca_session, keyring, order, now) == "validity_beyond_ca"


@keyfile_only
def test_an_information_change_carries_the_new_name_to_the_earlier_end(ca_session, keyring, folder, earlier):
    now = utcnow()
    order = succeeding(ca_session, folder, earlier, INFO_CHANGE, name=NEW_NAME)
    answer = issue(ca_session, keyring, order, now)
    assert (answer.not_before, answer.not_after) == (whole(now), earlier.not_after)
    subject = x509.load_pem_x509_certificate(answer.certificate_pem.encode()).subject
    assert [a.value for a in subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)] == [NEW_NAME]
    assert NEW_NAME in register(ca_session, answer.serial_number).subject and NEW_NAME not in earlier.subject
    entry = ca_session.scalars(select(AuditEntry).where(AuditEntry.action == "certificate.issue",
                                                        AuditEntry.order_id == order.id)).one()
    assert entry.after["succeeds"] == earlier.serial_number


@keyfile_only
def test_an_information_change_of_an_expired_certificate_is_refused(ca_session, keyring, folder, earlier):
    earlier.not_after = utcnow() - dt.timedelta(seconds=1)
    order = succeeding(ca_session, folder, earlier, INFO_CHANGE, name=NEW_NAME)
    assert refusal(issue, ca_session, keyring, order) == "earlier_certificate_expired"


# --- who may succeed which certificate ------------------------------------------------------------


@keyfile_only
@pytest.mark.parametrize("change", [
    lambda organisation: setattr(organisation, "name", NEW_NAME),
    lambda organisation: setattr(organisation, "region_city", "410300"),  # 洛阳市, Henan still
], ids=["name", "city"])
def test_a_renewal_keeps_the_earlier_subject(ca_session, keyring, folder, earlier, change):
    earlier.not_after = utcnow() + dt.timedelta(days=30)
    order = succeeding(ca_session, folder, earlier, RENEWAL)
    change(order.organisation)
    assert refusal(issue, ca_session, keyring, order) == "subject_changed"


@keyfile_only
@pytest.mark.parametrize("business_type", [RENEWAL, INFO_CHANGE])
def test_the_earlier_certificate_must_be_in_force_and_the_organisation_s(ca_session, keyring, folder, earlier,
                                                                       business_type):
    earlier.not_after = utcnow() + dt.timedelta(days=30)
    other = succeeding(ca_session, folder, earlier, business_type, credit_code=OTHER_CREDIT_CODE)
    assert refusal(issue, ca_session, keyring, other) == "certificate_of_another_organisation"

    unnamed = succeeding(ca_session, folder, earlier, business_type)
    unnamed.certificate_id = None
    assert refusal(issue, ca_session, keyring, unnamed) == "order_names_no_certificate"

    for status in (CertificateStatus.SUPERSEDED, CertificateStatus.REVOKED):
        earlier.status = status
        order = succeeding(ca_session, folder, earlier, business_type)
        assert refusal(issue, ca_session, keyring, order) == "earlier_certificate_not_valid"


@keyfile_only
def test_one_certificate_has_one_successor(ca_session, keyring, folder, earlier):
    earlier.not_after = utcnow() + dt.timedelta(days=30)
    renewal = succeeding(ca_session, folder, earlier, RENEWAL)
    change = succeeding(ca_session, folder, earlier, INFO_CHANGE, name=NEW_NAME)
    first = issue(ca_session, keyring, renewal)
    assert refusal(issue, ca_session, keyring, change) == "earlier_certificate_succeeded"

    register(ca_session, first.serial_number).status = CertificateStatus.REVOKED  # withdrawn: the key was wiped
    assert issue(ca_session, keyring, change).not_after == earlier.not_after


# --- superseding --------------------------------------------------------------------------------------


@keyfile_only
def test_superseding_waits_for_the_order_s_own_certificate(ca_session, keyring, folder, earlier):
    order = succeeding(ca_session, folder, earlier, INFO_CHANGE, name=NEW_NAME)
    assert refusal(operations.supersede_for_order, ca_session, order.number) == "order_certificate_missing"
    register(ca_session, issue(ca_session, keyring, order).serial_number).status = CertificateStatus.REVOKED
    assert refusal(operations.supersede_for_order, ca_session, order.number) == "order_certificate_missing"
    assert earlier.status is CertificateStatus.VALID


@keyfile_only
def test_superseding_once_and_asked_again(ca_session, keyring, folder, earlier):
    order = succeeding(ca_session, folder, earlier, INFO_CHANGE, name=NEW_NAME)
    successor = issue(ca_session, keyring, order)
    newest_crl = crls.newest(ca_session, earlier.issuer_id)
    at = utcnow() - dt.timedelta(minutes=5, microseconds=1)

    superseded = operations.supersede_for_order(ca_session, order.number, now=at)
    assert (superseded.serial_number, superseded.superseded_at) == (earlier.serial_number, whole(at))
    assert earlier.status is CertificateStatus.SUPERSEDED and earlier.revoked_at is None
    assert crls.newest(ca_session, earlier.issuer_id) == newest_crl, "superseded is not revoked: no CRL"

    ca_session.expire_all()
    assert operations.supersede_for_order(ca_session, order.number) == superseded
    entry = ca_session.scalars(select(AuditEntry).where(AuditEntry.action == "certificate.supersede",
                                                        AuditEntry.order_id == order.id)).one()
    assert (entry.order_id, entry.target, entry.actor) == (order.id, f"certificate:{earlier.serial_number}",
                                                           "signing-service")
    assert entry.after == {"status": "superseded", "by": successor.serial_number}
    assert earlier.serial_number in sentence(entry, {}) and successor.serial_number in sentence(entry, {})
    assert register(ca_session, successor.serial_number).status is CertificateStatus.VALID


@keyfile_only
def test_superseding_refusals(ca_session, keyring, folder, earlier):
    first = approved_order(ca_session, folder)
    assert refusal(operations.supersede_for_order, ca_session, first.number) == "business_type_not_superseding"
    assert refusal(operations.supersede_for_order, ca_session, "U20991231999999") == "order_unknown"

    order = succeeding(ca_session, folder, earlier, RENEWAL)
    earlier.not_after = utcnow() + dt.timedelta(days=30)
    issue(ca_session, keyring, order)
    order.organisation.credit_code = OTHER_CREDIT_CODE
    assert refusal(operations.supersede_for_order, ca_session, order.number) == "certificate_of_another_organisation"
    order.organisation.credit_code = ca_session.get(Order, earlier.order_id).organisation.credit_code
    for status in (CertificateStatus.REVOKED, CertificateStatus.SUPERSEDED):  # the latter by someone else
        earlier.status = status
        assert refusal(operations.supersede_for_order, ca_session, order.number) == "earlier_certificate_not_valid"
    assert ca_session.scalar(select(func.count()).select_from(AuditEntry)
                             .where(AuditEntry.action == "certificate.supersede",
                                    AuditEntry.order_id == order.id)) == 0


# --- the live signing service, with key files and on a token ----------------------------------------


@pytest.fixture
def committed_successor(ca_app, issued):  # noqa: F811
    """succeed(business_type, name=None) -> the number of a committed, paid and approved order naming
    the certificate just issued (`issued`), its organisation renamed when `name` is given."""
    answer, _folder = issued

    def succeed(business_type: BusinessType, name: str | None = None) -> str:
        with ca_app.app_context():
            earlier = register(db.session, answer.serial_number)
            order = succeeding(db.session, ca_app.config["UPLOAD_FOLDER"], earlier, business_type, name=name)
            number = order.number
            db.session.commit()
        return number

    return succeed


def test_a_renewal_through_the_signing_service(ca_app, signing, signing_url, issued, committed_successor,  # noqa: F811
                                               request_for):
    answer, folder = issued
    with ca_app.app_context():  # 60 days left
        register(db.session, answer.serial_number).not_after = whole(utcnow()) + dt.timedelta(days=60)
        db.session.commit()
    number = committed_successor(RENEWAL)
    with pytest.raises(PolicyRefused) as refused:
        signing.supersede_for_order(number)
    assert refused.value.rule == "order_certificate_missing"

    renewed = signing.issue(f"job-{uuid.uuid4()}", number, request_for(number))
    superseded = signing.supersede_for_order(number)

    with ca_app.app_context():
        earlier = register(db.session, answer.serial_number)
        assert renewed.not_after == policy.add_months(earlier.not_after, 12)
        assert earlier.status is CertificateStatus.SUPERSEDED and superseded.serial_number == answer.serial_number
        assert register(db.session, renewed.serial_number).subject == earlier.subject
    assert signing.supersede_for_order(number) == superseded
    said, _ = openssl_ocsp(signing_url, folder, "-cert", folder / "cert.pem")
    assert f"{folder / 'cert.pem'}: good" in said, "superseded, not revoked: good until its end"
    assert answer.serial_number.upper() not in openssl_crl(signing_url, answer, folder)


def test_an_information_change_through_the_signing_service(ca_app, signing, issued, committed_successor,  # noqa: F811
                                                           request_for, officers):
    answer, _folder = issued
    number = committed_successor(INFO_CHANGE, name=NEW_NAME)
    changed = signing.issue(f"job-{uuid.uuid4()}", number, request_for(number))
    assert changed.not_after == answer.not_after
    assert x509.load_pem_x509_certificate(changed.certificate_pem.encode()).subject.get_attributes_for_oid(
        NameOID.COMMON_NAME)[0].value == NEW_NAME

    signing.revoke(answer.serial_number, RevocationReason.KEY_COMPROMISE, requested_by=officers["senior_reviewer"],
                   confirmed_by=officers["admin"])  # the earlier one revoked meanwhile
    with pytest.raises(PolicyRefused) as refused:
        signing.supersede_for_order(number)
    assert refused.value.rule == "earlier_certificate_not_valid"
