"""Objects kept only with their committed rows.

A material's scan or an invoice's PDF is written to the store before its row is flushed, and
deleted again when the transaction (or the savepoint) it was written in ends without committing.
Writing it only after the commit would leave, after a crash between the two, a committed row whose
document is lost; this way a crash leaves at worst an object that no row names, which harms nobody
and which comparing the store with the tables finds. A write that fails raises before any row
names it. Works alike for every backend: it only calls the store's `save` and `delete`.
"""
from __future__ import annotations

import logging

from sqlalchemy import event
from sqlalchemy.orm import Session, SessionTransaction, scoped_session

from documents.storage import DocumentStore, Purpose, StorageUnavailable

log = logging.getLogger(__name__)

_UNCOMMITTED = "uncommitted_stored_objects"


def save_until_committed(session: Session, store: DocumentStore, purpose: Purpose, content: bytes) -> str:
    """Keep `content` in the store, to be deleted again unless `session`'s transaction commits;
    its name. Raises StorageUnavailable, having kept nothing, when the store cannot write."""
    if isinstance(session, scoped_session):
        session = session()  # the request's own session, which knows its transactions
    transaction = session.get_nested_transaction() or session.get_transaction() or session.begin()
    name = store.save(purpose, content)
    session.info.setdefault(_UNCOMMITTED, []).append((transaction, store, name))
    return name


@event.listens_for(Session, "after_commit")
def _keep_committed_objects(session: Session) -> None:
    # A released savepoint leaves the decision to the transaction around it.
    if not session.in_nested_transaction():
        session.info.pop(_UNCOMMITTED, None)


@event.listens_for(Session, "after_soft_rollback")
def _delete_rolled_back_objects(session: Session, previous_transaction: SessionTransaction) -> None:
    _delete_objects(session, previous_transaction)


@event.listens_for(Session, "after_transaction_end")
def _delete_uncommitted_objects(session: Session, transaction: SessionTransaction) -> None:
    # After a commit nothing is left to delete; a session closed without one lands here.
    if transaction.parent is None:
        _delete_objects(session, transaction)


def _delete_objects(session: Session, ended: SessionTransaction) -> None:
    """Delete the objects written in `ended` or in a savepoint within it."""
    pending = session.info.get(_UNCOMMITTED)
    if not pending:
        return
    kept = []
    for transaction, store, name in pending:
        if not _within(transaction, ended):
            kept.append((transaction, store, name))
            continue
        try:
            store.delete(name)
        except StorageUnavailable:
            # The rollback goes on; the object is one that no row names.
            log.exception("could not delete the uncommitted object %s", name)
    session.info[_UNCOMMITTED] = kept


def _within(transaction: SessionTransaction | None, outer: SessionTransaction) -> bool:
    while transaction is not None:
        if transaction is outer:
            return True
        transaction = transaction.parent
    return False
