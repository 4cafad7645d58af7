"""SQLite changes a column by copying its table to a new one and dropping the old (Alembic's batch
mode). With foreign keys checked, dropping a table other rows refer to fails on any database holding
such rows. The check can only be switched off outside a transaction (SQLite's own procedure for such
changes), so: commit what came before, alter unchecked, prove nothing dangles, go on in a
transaction again. (Alembic's autocommit_block does not do here: the app's engine begins every
transaction itself, models.sqlite_engine.)"""
from contextlib import contextmanager

from alembic import op


@contextmanager
def foreign_keys_unchecked():
    bind = op.get_bind()
    if bind.dialect.name != 'sqlite':
        yield
        return
    bind.exec_driver_sql('COMMIT')
    bind.exec_driver_sql('PRAGMA foreign_keys = OFF')
    bind.exec_driver_sql('BEGIN')
    try:
        yield
        dangling = bind.exec_driver_sql('PRAGMA foreign_key_check').fetchall()
        if dangling:
            raise RuntimeError(f'rows refer to rows that are gone: {dangling[:5]}')
        bind.exec_driver_sql('COMMIT')
    except BaseException:
        bind.exec_driver_sql('ROLLBACK')
        raise
    finally:
        bind.exec_driver_sql('PRAGMA foreign_keys = ON')
        bind.exec_driver_sql('BEGIN')
