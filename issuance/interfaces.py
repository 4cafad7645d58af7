"""What the web app asks of the CA's signing service, which runs as its own process and holds the
CA's keys (the web app never does), and the errors it answers."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Protocol

from models import RevocationReason


class SigningUnavailable(Exception):
    """The signing service could not be reached or did not answer: nothing was signed that the
    caller knows of; asking again with the same job ID is safe."""


class PolicyRefused(Exception):
    """The signing service refused the request; `rule` names the policy rule that failed
    (e.g. "order_not_approved", "subject_mismatch", "key_type_not_allowed"; issuance.policy lists
    them all)."""

    def __init__(self, rule: str, message: str):
        super().__init__(f"{rule}: {message}")
        self.rule = rule
        self.message = message


@dataclass(frozen=True)
class Issued:
    """A certificate the signing service issued (or had issued for the same job before)."""

    serial_number: str  # hex
    certificate_pem: str
    chain_pem: list[str]  # the issuing CA's certificate, then the root's
    not_before: dt.datetime
    not_after: dt.datetime


@dataclass(frozen=True)
class Revoked:
    serial_number: str
    revoked_at: dt.datetime
    reason: RevocationReason
    crl_number: int  # the CRL published with it


@dataclass(frozen=True)
class Superseded:
    """The earlier certificate a renewal or an information change superseded (still good in OCSP
    until its end, on no CRL)."""

    serial_number: str  # hex, of the earlier certificate
    superseded_at: dt.datetime


@dataclass(frozen=True)
class Published:
    crl_number: int
    this_update: dt.datetime
    next_update: dt.datetime
    revoked_count: int


class SigningService(Protocol):
    def issue(self, job_id: str, order_number: str, csr_pem: str) -> Issued:
        """Issue the order's certificate for the PKCS#10 request `csr_pem`, after the service's
        own policy checks; the same `job_id` again returns the same certificate. For a renewal or an
        information change the order names the earlier certificate (Order.certificate): a renewal's
        certificate runs the product's months on from the earlier end (from now once it has expired),
        an information change's ends when the earlier one does."""

    def revoke(self, serial_number: str, reason: RevocationReason, *, requested_by: str,
               confirmed_by: str) -> Revoked:
        """Revoke a certificate once two staff members agreed (dual control), and publish a new
        CRL with it. `requested_by` and `confirmed_by` name them as the audit log does
        (Staff.actor, "staff:<username>") or by username; the service checks again that they are
        two different active senior reviewers or admins (PolicyRefused otherwise). Asked again for
        a certificate revoked already, it answers that revocation and publishes nothing."""

    def revoke_for_order(self, order_number: str) -> Revoked:
        """Revoke the certificate an approved replacement or revocation order names (Order.certificate),
        with the order's reason. The service checks the register itself: the order approved (or past
        it), the certificate the same organisation's, the reason one the business type allows, and the
        approvals the type needs (a reviewer's and the applicant's SMS signature for a replacement;
        two different active senior reviewers or admins for a revocation); PolicyRefused otherwise.
        Asked again, it answers the revocation made and publishes nothing."""

    def supersede_for_order(self, order_number: str) -> Superseded:
        """Mark superseded the earlier certificate a renewal or an information change names
        (Order.certificate), once the order's own certificate is on the key: the service checks the
        order is a renewal or an information change, the certificate the same organisation's, the
        order's own certificate issued (not revoked), and the earlier one valid; PolicyRefused
        otherwise. Asked again, it answers the supersession made and changes nothing."""

    def withdraw(self, serial_number: str, *, job_id: str, requested_by: str) -> Revoked:
        """Revoke (superseded) a certificate that never left the station, for the job that asked for
        it (`job_id`), before that job is redone: its key was wiped or lost. `requested_by` is the
        station ("station:<name>") or fulfillment staff; refused once the order has shipped."""

    def publish_crl(self) -> Published:
        """Sign and publish a new CRL now (also done on every revocation)."""
