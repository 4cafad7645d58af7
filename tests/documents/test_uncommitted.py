"""Objects kept only with their committed rows, on both backends: what a rolled-back transaction
(or savepoint, or a session closed uncommitted) wrote is deleted again from the folder or the bucket."""
from __future__ import annotations

from documents.storage import Purpose
from documents.uncommitted import save_until_committed


def test_an_object_is_deleted_when_its_transaction_rolls_back(db_session, kept):
    name = save_until_committed(db_session, kept.store, Purpose.MATERIAL, b"scan")
    assert list(kept.store.names()) == [name]
    db_session.rollback()
    assert list(kept.store.names()) == [] and kept.blobs() == {}


def test_an_object_is_kept_once_committed(db_session, kept):
    kept_name = save_until_committed(db_session, kept.store, Purpose.MATERIAL, b"scan")
    db_session.commit()
    dropped = save_until_committed(db_session, kept.store, Purpose.INVOICE, b"%PDF")
    db_session.rollback()
    assert list(kept.store.names()) == [kept_name] and dropped != kept_name
    assert kept.store.read(kept_name) == b"scan"


def test_an_object_is_deleted_when_its_session_closes_uncommitted(db_session, kept):
    save_until_committed(db_session, kept.store, Purpose.MATERIAL, b"scan")
    db_session.close()
    assert list(kept.store.names()) == []


def test_a_savepoint_rolled_back_deletes_its_own_objects_only(db_session, kept):
    outer = save_until_committed(db_session, kept.store, Purpose.MATERIAL, b"scan")
    savepoint = db_session.begin_nested()
    save_until_committed(db_session, kept.store, Purpose.INVOICE, b"%PDF in the savepoint")
    savepoint.rollback()
    assert list(kept.store.names()) == [outer]
    db_session.commit()
    assert list(kept.store.names()) == [outer]


def test_a_released_savepoint_leaves_the_decision_to_its_transaction(db_session, kept):
    with db_session.begin_nested():
        save_until_committed(db_session, kept.store, Purpose.MATERIAL, b"scan")
    assert len(list(kept.store.names())) == 1
    db_session.rollback()
    assert list(kept.store.names()) == []
