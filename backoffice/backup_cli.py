"""`flask --app wsgi backup DEST` and `flask --app wsgi restore SRC`: a consistent snapshot of the
database and the stored files, and bringing one into an empty instance.

A backup folder holds:

    database.sqlite3   SQLite's online backup API (or database.dump: pg_dump --format=custom)
    files/store/…      the document store's objects (materials, invoice PDFs) by name, copied
                       after the database through the store, sealed as they are stored
    audit-anchor.log   the audit anchor file (AUDIT_ANCHOR_PATH), copied after the database
    manifest.json      when, the database kind, the audit chain head, the SHA-256 of every file

The objects are copied after the database snapshot, so every object a row of the snapshot names
is there (objects written later are harmless extras); either backend (a folder, a bucket) is read
through the store. Not in it: the CA keys (CA_KEY_FOLDER, the signing side is backed up on its
own), the secrets (SECRET_KEY, FIELD_ENCRYPTION_KEY, LOOKUP_KEY, AUDIT_SEAL_KEY,
STORAGE_ENCRYPTION_KEY, …: the instance restored into needs the same ones), the sandbox payment
ledger. A backup of format 1 (before the store) holds the plain upload folder (files/uploads/);
it is restored into UPLOAD_FOLDER as it was, for `storage migrate` to seal.

A restore refuses an instance that is not empty, checks every SHA-256 of the manifest and that
every object opens with this instance's key, brings back the database, the objects and the
anchor, then records the restore in the audit chain as
`audit acknowledge-restore` does (the anchor may name heads beyond the snapshot's) and adds a
`backup.restored` entry, so `audit verify` passes afterwards.
"""
from __future__ import annotations

import base64
import glob
import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy import func, inspect, select
from sqlalchemy.engine import URL, make_url

from backoffice.cli import CLI_ACTOR
from documents.storage import CannotOpen, DocumentStore
from models import AuditChainHead, Order, audit_chain, record
from models.base import utcnow
from web.edge import unit_of_work
from web.extensions import db
from web.services import find_service

MANIFEST = "manifest.json"
SQLITE_FILE = "database.sqlite3"
PG_FILE = "database.dump"
ANCHOR_FILE = "audit-anchor.log"
STORED = "files/store"
LEGACY_UPLOADS = "files/uploads"  # format 1: the upload folder as it was
RESTORED_ACTION = "backup.restored"
FORMAT = 2
FORMATS = (1, 2)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as file:
        for block in iter(lambda: file.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _files_under(folder: Path) -> list[Path]:
    return sorted(path for path in folder.rglob("*") if path.is_file()) if folder.is_dir() else []


def _seal_key() -> bytes:
    return base64.b64decode(current_app.config["AUDIT_SEAL_KEY"])


def _url() -> URL:
    return make_url(current_app.config["SQLALCHEMY_DATABASE_URI"])


def _kind(url: URL) -> str:
    if url.get_backend_name() not in ("sqlite", "postgresql"):
        raise click.ClickException(f"cannot back up a {url.get_backend_name()} database")
    return url.get_backend_name()


def _pg_tool(name: str) -> str:
    """pg_dump or pg_restore: from PATH, else the newest /usr/lib/postgresql/*/bin."""
    found = shutil.which(name)
    if found:
        return found
    for folder in sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda f: int(Path(f).parent.name), reverse=True):
        if os.access(Path(folder) / name, os.X_OK):
            return str(Path(folder) / name)
    raise click.ClickException(f"{name} not found on PATH or in /usr/lib/postgresql/*/bin")


def _libpq(url: URL) -> tuple[str, dict[str, str]]:
    """The libpq URI of `url` (no driver, no password) and the environment carrying the password."""
    env = dict(os.environ)
    if url.password:
        env["PGPASSWORD"] = str(url.password)
    return url.set(drivername="postgresql", password=None).render_as_string(hide_password=False), env


def _run(command: list[str], env: dict[str, str]) -> None:
    done = subprocess.run(command, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise click.ClickException(f"{Path(command[0]).name} failed: {done.stderr.strip()}")


def _sqlite_path(url: URL) -> Path:
    if not url.database or url.database == ":memory:":
        raise click.ClickException("an in-memory SQLite database cannot be backed up or restored")
    return Path(url.database)


# --- backup ------------------------------------------------------------------------------


@click.command("backup")
@click.argument("dest", type=click.Path(path_type=Path, file_okay=False))
@with_appcontext
def backup_command(dest: Path) -> None:
    """Write a consistent snapshot of the database, the stored files and the audit anchor to DEST.

    DEST is created; an existing folder must be empty. The CA keys are not included (the signing
    side is backed up on its own), nor the secrets, which the restored instance needs as well.
    """
    if dest.exists() and any(dest.iterdir()):
        raise click.ClickException(f"{dest} exists and is not empty")
    url = _url()
    kind = _kind(url)
    dest.mkdir(parents=True, exist_ok=True)
    if kind == "sqlite":
        database = dest / SQLITE_FILE
        source = sqlite3.connect(_sqlite_path(url))
        target = sqlite3.connect(database)
        try:
            with target:
                source.backup(target)  # online: a consistent copy while the app goes on writing
            target.execute("PRAGMA journal_mode = DELETE")  # one self-contained file, no -wal or -shm
        finally:
            target.close()
            source.close()
    else:
        database = dest / PG_FILE
        uri, env = _libpq(url)
        _run([_pg_tool("pg_dump"), "--format=custom", "--no-owner", f"--file={database}", uri], env)
    # Read after the snapshot: with SQLite from the snapshot itself, with PostgreSQL the live head
    # (at or beyond the snapshot's; the restore acknowledges any gap).
    if kind == "sqlite":
        with sqlite3.connect(database) as snapshot:
            seq, head_hash = snapshot.execute("SELECT seq, entry_hash FROM audit_chain_head WHERE id = 1").fetchone()
        snapshot.close()
    else:
        with db.engine.connect() as connection:
            seq, head_hash = connection.execute(
                select(AuditChainHead.seq, AuditChainHead.entry_hash).where(AuditChainHead.id == 1)).one()
    store = find_service(DocumentStore)
    copied = []
    for name in store.names():
        target_path = dest / STORED / name
        target_path.parent.mkdir(parents=True, exist_ok=True)
        target_path.write_bytes(store.read_sealed(name))
        copied.append(target_path)
    anchor = Path(current_app.config["AUDIT_ANCHOR_PATH"])
    if anchor.is_file():
        shutil.copy2(anchor, dest / ANCHOR_FILE)
        copied.append(dest / ANCHOR_FILE)
    manifest = {
        "format": FORMAT,
        "created_at": utcnow().isoformat(timespec="seconds"),
        "database": {"kind": kind, "file": database.name},
        "audit_head": {"seq": seq, "hash": head_hash},
        "audit_seal_key_id": audit_chain.key_id(_seal_key()),
        "counts": {"stored": sum(1 for path in copied if path.name != ANCHOR_FILE),
                   "anchor_lines": len((dest / ANCHOR_FILE).read_text().splitlines()) if anchor.is_file() else 0},
        "sha256": {path.relative_to(dest).as_posix(): _sha256(path) for path in [database, *copied]},
    }
    (dest / MANIFEST).write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    counts = manifest["counts"]
    click.echo(f"backup written to {dest}: {kind} database ({database.name}), audit head {seq}, "
               f"{counts['stored']} stored document(s), anchor: {counts['anchor_lines']} line(s)")


# --- restore -----------------------------------------------------------------------------


def _manifest(src: Path) -> dict:
    """The manifest of the backup at `src`, every file of which matches its SHA-256 (and none is extra)."""
    try:
        manifest = json.loads((src / MANIFEST).read_text())
    except (OSError, ValueError) as exc:
        raise click.ClickException(f"no readable {MANIFEST} in {src}: {exc}") from None
    if manifest.get("format") not in FORMATS:
        raise click.ClickException(f"unknown backup format {manifest.get('format')!r}")
    listed = manifest["sha256"]
    present = {path.relative_to(src).as_posix() for path in _files_under(src)} - {MANIFEST}
    if missing := sorted(set(listed) - present):
        raise click.ClickException(f"the backup lacks {missing[0]} (and {len(missing) - 1} more)")
    if extra := sorted(present - set(listed)):
        raise click.ClickException(f"the backup holds {extra[0]}, which its manifest does not list")
    for name, expected in sorted(listed.items()):
        if _sha256(src / name) != expected:
            raise click.ClickException(f"{name} differs from the SHA-256 in the manifest: refused")
    return manifest


def _not_empty(kind: str, url: URL, store: DocumentStore, uploads: Path) -> str | None:
    """Why the instance is not empty (orders in the database, objects in the store, files in the
    upload folder), or None."""
    if kind == "sqlite" and not _sqlite_path(url).exists():
        orders = 0
    else:
        with db.engine.connect() as connection:
            orders = (connection.execute(select(func.count()).select_from(Order.__table__)).scalar_one()
                      if inspect(connection).has_table(Order.__tablename__) else 0)
    if orders:
        return f"the database holds {orders} order(s)"
    if objects := list(store.names()):
        return f"the document store holds {len(objects)} object(s)"
    if files := _files_under(uploads):
        return f"the upload folder {uploads} holds {len(files)} file(s)"
    return None


def _check_objects_open(src: Path, store: DocumentStore) -> None:
    """Every object of the backup opens with this instance's STORAGE_ENCRYPTION_KEY under its name,
    before anything is restored."""
    for path in _files_under(src / STORED):
        name = path.relative_to(src / STORED).as_posix()
        try:
            store.check_sealed(name, path.read_bytes())
        except (CannotOpen, ValueError) as exc:
            raise click.ClickException(f"{STORED}/{name} does not open here ({exc}): configure the "
                                       "backed-up instance's STORAGE_ENCRYPTION_KEY first") from None


def _anchor_lines_to_restore(backup: Path, anchor: Path) -> list[str]:
    """The backup's anchor lines to write; none when the instance's anchor already continues them
    (an anchor only grows, kept on other storage it may have outlived the database)."""
    saved = backup.read_text().splitlines() if backup.is_file() else []
    current = anchor.read_text().splitlines() if anchor.is_file() else []
    if not current:
        return saved
    if current[:len(saved)] != saved:
        raise click.ClickException(f"the anchor file {anchor} is not a continuation of the backup's: "
                                   "restore into an instance with an empty anchor, or look into it first")
    return []


@click.command("restore")
@click.argument("src", type=click.Path(path_type=Path, file_okay=False, exists=True))
@with_appcontext
def restore_command(src: Path) -> None:
    """Bring the backup at SRC into this empty instance and record the restore in the audit chain.

    Refuses unless the database holds no orders and the store no objects, and unless every file of
    the backup matches its manifest. The instance needs the secrets of the backed-up one.
    """
    manifest = _manifest(src)
    url = _url()
    kind = _kind(url)
    if manifest["database"]["kind"] != kind:
        raise click.ClickException(f"the backup is of a {manifest['database']['kind']} database, "
                                   f"this instance's is {kind}")
    if manifest["audit_seal_key_id"] != audit_chain.key_id(_seal_key()):
        raise click.ClickException("this instance's AUDIT_SEAL_KEY is not the backed-up instance's: "
                                   "configure the same secrets first")
    uploads = Path(current_app.config["UPLOAD_FOLDER"])
    store = find_service(DocumentStore)
    anchor = Path(current_app.config["AUDIT_ANCHOR_PATH"])
    if (reason := _not_empty(kind, url, store, uploads)) is not None:
        raise click.ClickException(f"refused: this instance is not empty ({reason})")
    _check_objects_open(src, store)
    anchor_lines = _anchor_lines_to_restore(src / ANCHOR_FILE, anchor)

    database = src / manifest["database"]["file"]
    db.session.remove()
    db.engine.dispose()  # nothing of ours stays connected while the database is replaced
    if kind == "sqlite":
        path = _sqlite_path(url)
        path.parent.mkdir(parents=True, exist_ok=True)
        source = sqlite3.connect(f"{database.resolve().as_uri()}?mode=ro&immutable=1", uri=True)
        target = sqlite3.connect(path)
        try:
            with target:
                source.backup(target)
        finally:
            target.close()
            source.close()
    else:
        uri, env = _libpq(url)
        # --clean: a migrated but empty database already has the tables; they are replaced.
        _run([_pg_tool("pg_restore"), "--clean", "--if-exists", "--no-owner", "--exit-on-error",
              "--single-transaction", f"--dbname={uri}", str(database)], env)

    restored_files = 0
    for path in _files_under(src / STORED):
        store.write_sealed(path.relative_to(src / STORED).as_posix(), path.read_bytes())
        restored_files += 1
    legacy_files = 0
    for path in _files_under(src / LEGACY_UPLOADS):
        target_path = uploads / path.relative_to(src / LEGACY_UPLOADS)
        target_path.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, target_path)
        legacy_files += 1
    if anchor_lines:
        with audit_chain.Anchor(anchor).locked() as write:
            for line in anchor_lines:
                write(line)

    with unit_of_work() as session:
        try:
            acknowledged = audit_chain.acknowledge_restore(session, _seal_key(), CLI_ACTOR)
        except audit_chain.RestoreRefused as refused:
            raise click.ClickException(f"database and files restored, but the audit chain refused the restore: "
                                       f"{refused}") from None
        head = session.execute(select(AuditChainHead.seq, AuditChainHead.entry_hash)).one()
        orders = session.scalar(select(func.count()).select_from(Order))
        entry = record(session, CLI_ACTOR, RESTORED_ACTION, target="backup",
                       after={"backup_created_at": manifest["created_at"], "database": kind,
                              "head_seq": head.seq, "head_hash": head.entry_hash, "stored": restored_files,
                              "legacy_uploads": legacy_files})
        session.flush()
    click.echo(f"database restored ({kind}, backup of {manifest['created_at']}): {orders} order(s), "
               f"audit chain at entry {head.seq}")
    click.echo(f"documents restored: {restored_files} stored object(s)")
    if legacy_files:
        click.echo(f"{legacy_files} file(s) of the upload folder before the document store restored into {uploads}: "
                   "run `flask --app wsgi storage migrate` to seal them into the store")
    click.echo(f"anchor: {len(anchor_lines)} line(s) restored" if anchor_lines
               else "anchor: the instance's own anchor kept, it continues the backup's")
    if acknowledged is not None:
        click.echo(f"restore acknowledged as entry {acknowledged.entry_seq}: {acknowledged.dropped} anchored "
                   f"head(s) up to entry {acknowledged.anchored_to} dropped")
    click.echo(f"restore recorded as audit entry {entry.seq}; run `audit verify`, and `audit seal` "
               "if the backup's last seal is older than AUDIT_SEAL_MAX_AGE_HOURS")

