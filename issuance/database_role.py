"""The signing service's PostgreSQL role: it reads what the policy checks and the CA's own tables,
and writes only the register (certificate), the CRLs and its audit entries. Should the signing
service be taken over, it can still issue for approved orders (revoke what approved replacements
and revocations name, mark superseded what renewals and information changes name), but not
approve one, mark one paid, read a password hash or a sealed number, or rewrite the audit log.

    .venv/bin/python -m issuance.database_role signer | psql -v ON_ERROR_STOP=1 "$OWNER_DATABASE_URL"

prints the SQL to run as the owner of the tables (after `flask db upgrade`; again after a
migration adds a table it reads). Then give the role a password and point the signing service
at it: ALTER ROLE signer PASSWORD '…'; BACKOFFICE_SIGNER_DATABASE_URL=postgresql+psycopg://signer:…@host/db.
"""
from __future__ import annotations

import re
import sys

# Read whole: nothing secret in them.
READS = ("organisation", "product", "certificate_profile", "payment", "ca_certificate", "certificate", "crl")
# Read in part: the policy's columns of an order (not its sealed bank numbers or the certificate
# password), a personal certificate's holder as its subject names them (not the ID number, phone or
# bank card), who a staff member is (not the password hash or the second factor).
COLUMNS_READ = {
    "order": ("id", "number", "status", "business_type", "price_cents", "product_id", "organisation_id",
              "cert_kind", "agent_id",
              # an approved replacement's or revocation's certificate, reason, signature and approvals
              "certificate_id", "revocation_reason", "signed_at", "first_approver_id"),
    "person": ("id", "name", "subject_serial"),
    "review_decision": ("id", "order_id", "staff_id", "decision"),
    "staff": ("id", "username", "role", "active"),
    # a station may withdraw a certificate its job made (not its credential's hash)
    "station": ("id", "name", "credential_issued_at", "credential_revoked_at"),
}
# The register and the CRLs: new rows, a certificate's DER once signed, a revocation.
WRITES = ("certificate", "crl")
SEQUENCES = ("certificate_id_seq", "crl_id_seq", "audit_entry_id_seq")
_NAME = re.compile(r"[a-z_][a-z0-9_]{0,62}")


def statements(role: str) -> list[str]:
    if not _NAME.fullmatch(role):
        raise ValueError(f"{role!r} is no plain lower-case role name")
    to = f'TO "{role}"'
    return [
        f"DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{role}') THEN "
        f'CREATE ROLE "{role}" LOGIN; END IF; END $$',
        f"GRANT USAGE ON SCHEMA public {to}",
        f"GRANT SELECT ON {', '.join(READS)} {to}",
        *(f'GRANT SELECT ({", ".join(columns)}) ON "{table}" {to}' for table, columns in COLUMNS_READ.items()),
        f"GRANT INSERT, UPDATE ON {', '.join(WRITES)} {to}",
        # The audit chain (models.audit_chain): an entry is inserted, then linked (its one UPDATE,
        # which the table's trigger allows once); the head is locked and moved.
        "GRANT INSERT ON audit_entry " + to,
        "GRANT SELECT (id, seq, entry_hash), UPDATE (seq, prev_hash, entry_hash) ON audit_entry " + to,
        f"GRANT SELECT, UPDATE ON audit_chain_head {to}",
        f"GRANT USAGE ON SEQUENCE {', '.join(SEQUENCES)} {to}",
    ]


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python -m issuance.database_role ROLE   (prints the SQL to run as the tables' owner)",
              file=sys.stderr)
        return 2
    for statement in statements(argv[0]):
        print(statement + ";")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
