"""Audit sentences of the operator's commands: backups, the store, retention, the calendar, the chain."""
from __future__ import annotations

from flask_babel import gettext as _

from models.audit_chain import RESTORE_ACTION
from review.audit_sentences.words import (
    Writer,
    get,
    with_note,
)


def _backup_restored(e, w, n):
    return _("%(who)s restored the database and files from a backup.", who=w)


def _storage_migrated(e, w, n):
    return _("%(who)s moved what the instance kept in the clear into the encrypted document store: %(files)s "
             "material files and %(invoices)s invoice PDFs.", who=w, files=get(e.after, "materials_sealed", 0),
             invoices=get(e.after, "invoices_moved", 0))


def _retention_purged(e, w, n):
    return _("%(who)s removed the order's personal data and %(files)s document files under the retention rule.",
             who=w, files=get(e.after, "files", 0))


def _retention_run(e, w, n):
    return _("%(who)s ran the retention purge: the personal data of %(orders)s orders removed, %(files)s document "
             "files deleted.", who=w, orders=get(e.after, "orders", 0), files=get(e.after, "files", 0))


def _calendar_imported(e, w, n):
    return with_note(_("%(who)s imported %(count)s days of the working-day calendar.", who=w,
                        count=len(e.after or {})), e.note)


def _restore_acknowledged(e, w, n):
    return _("%(who)s acknowledged a restored database: %(dropped)s audit entries after entry %(head)s are "
             "gone.", who=w, dropped=get(e.after, "dropped", ""), head=get(e.after, "head_seq", ""))


SENTENCES: dict[str, Writer] = {
    "backup.restored": _backup_restored,
    "storage.migrated": _storage_migrated,
    "retention.purged": _retention_purged,
    "retention.run": _retention_run,
    "calendar.imported": _calendar_imported,
    RESTORE_ACTION: _restore_acknowledged,
}
