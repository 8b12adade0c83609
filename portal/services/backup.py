"""The database as a whole: is it there, a consistent backup, and a restore.

SQLite is copied with its online backup API (a consistent copy while the portal runs); PostgreSQL
with ``pg_dump -Fc`` and ``pg_restore``, which must be on PATH (or in ``pg_config --bindir``).
"""

import os
import re
import shutil
import sqlite3
import subprocess
from pathlib import Path

from sqlalchemy import create_engine, inspect
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.pool import NullPool


class BackupError(Exception):
    """A backup or restore that could not be done; the message says why in one line."""


def shown(uri: str) -> str:
    """The database URL without its password, for messages."""
    return make_url(uri).render_as_string(hide_password=True)


def database_problem(uri: str, *, connect_only: bool = False) -> str | None:
    """One line saying what is wrong with the database, or None when it is reachable and migrated
    (``connect_only``: when it answers, or is an SQLite file that ``db upgrade`` will create)."""
    url = make_url(uri)
    if url.get_backend_name() == "sqlite":
        if connect_only:
            return None
        path = url.database or ""
        if path and path != ":memory:" and not Path(path).exists():
            return f"database {shown(uri)} does not exist: run `flask --app wsgi db upgrade` to create it"
    connect_args = {"connect_timeout": 5} if url.get_backend_name() == "postgresql" else {}
    engine = create_engine(url, poolclass=NullPool, connect_args=connect_args)
    try:
        with engine.connect() as connection:
            tables = set(inspect(connection).get_table_names())
    except SQLAlchemyError as error:
        reason = str(getattr(error, "orig", None) or error).strip().splitlines()[0]
        return f"database {shown(uri)} is unreachable: {reason}"
    finally:
        engine.dispose()
    if "order" not in tables and not connect_only:
        return f"database {shown(uri)} has no portal tables: run `flask --app wsgi db upgrade`"
    return None


def _libpq_url(uri: str) -> str:
    """postgresql+psycopg://... as pg_dump understands it, without the password (``_run`` passes it in
    PGPASSWORD: a command line is readable by every local user, in ps and /proc)."""
    return make_url(uri).set(drivername="postgresql")._replace(password=None).render_as_string(hide_password=False)


def _pg_tool(name: str) -> str:
    found = shutil.which(name)
    pg_config = shutil.which("pg_config")
    if not found and pg_config:
        bindir = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True).stdout.strip()
        candidate = Path(bindir) / name
        found = str(candidate) if bindir and candidate.exists() else None
    if not found:
        raise BackupError(f"{name} is not installed (Debian: apt-get install postgresql-client)")
    return found


def _run(command: list[str], uri: str | None = None) -> None:
    password = make_url(uri).password if uri else None
    env = {**os.environ, "PGPASSWORD": str(password)} if password else None
    result = subprocess.run(command, capture_output=True, text=True, env=env)
    if result.returncode != 0:
        lines = (result.stderr or result.stdout).strip().splitlines()
        line = lines[-1] if lines else str(result.returncode)
        if password:
            line = line.replace(str(password), "***")
        raise BackupError(f"{Path(command[0]).name} failed: {line}")


def _sqlite_path(uri: str) -> Path:
    path = make_url(uri).database
    if not path or path == ":memory:":
        raise BackupError("an in-memory SQLite database cannot be backed up")
    return Path(path)


def backup(uri: str, target: Path) -> Path:
    """Write a consistent copy of the database to ``target`` (an SQLite file, or a pg_dump custom-format file)."""
    target = Path(target)
    if target.exists():
        raise BackupError(f"{target} exists: choose a new file")
    target.parent.mkdir(parents=True, exist_ok=True)
    backend = make_url(uri).get_backend_name()
    if backend == "sqlite":
        source_path = _sqlite_path(uri)
        if not source_path.exists():
            raise BackupError(f"database {source_path} does not exist")
        source, copy = sqlite3.connect(source_path), sqlite3.connect(target)
        try:
            with copy:
                source.backup(copy)
        finally:
            copy.close()
            source.close()
    elif backend == "postgresql":
        _run([_pg_tool("pg_dump"), "--format=custom", "--no-owner", "--file", str(target), _libpq_url(uri)], uri)
    else:
        raise BackupError(f"no backup for {backend} databases")
    return target


def _has_tables(uri: str) -> bool:
    return bool(_table_names(uri))


def _table_names(uri: str) -> set[str]:
    engine = create_engine(uri, poolclass=NullPool)
    try:
        with engine.connect() as connection:
            return set(inspect(connection).get_table_names())
    finally:
        engine.dispose()


def _backup_tables(source: Path) -> set[str]:
    """The tables a pg_dump -Fc file holds, from its table of contents (pg_restore --list)."""
    listing = subprocess.run([_pg_tool("pg_restore"), "--list", str(source)], capture_output=True, text=True)
    if listing.returncode != 0:
        raise BackupError(f"{source} is not a PostgreSQL backup")
    return {match.group(1) for match in re.finditer(r"^\d+; \d+ \d+ TABLE \S+ (\S+) ", listing.stdout, re.M)}


def restore(uri: str, source: Path, *, replace: bool = False) -> None:
    """Load a backup made by :func:`backup` into the database.

    :raise BackupError: the database already has tables and ``replace`` is false, or the tool failed.
    """
    source = Path(source)
    if not source.is_file():
        raise BackupError(f"{source} is not a backup file")
    backend = make_url(uri).get_backend_name()
    if backend == "sqlite" and not _sqlite_path(uri).exists():
        pass  # a new file: nothing to replace
    elif _has_tables(uri) and not replace:
        raise BackupError(f"database {shown(uri)} is not empty: restore into a new database, or pass --replace")
    if backend == "sqlite":
        target_path = _sqlite_path(uri)
        target_path.parent.mkdir(parents=True, exist_ok=True)
        backup_file, target = sqlite3.connect(source), sqlite3.connect(target_path)
        try:
            if backup_file.execute("PRAGMA quick_check").fetchone()[0] != "ok":
                raise BackupError(f"{source} is not an intact SQLite database")
            with target:
                backup_file.backup(target)
        except sqlite3.DatabaseError as error:
            raise BackupError(f"{source} is not an SQLite backup: {error}") from error
        finally:
            target.close()
            backup_file.close()
    elif backend == "postgresql":
        command = [_pg_tool("pg_restore"), "--no-owner", "--exit-on-error", "--single-transaction"]
        if replace:
            # --clean drops only what the backup holds: a table it lacks would stay beside the restored
            # ones (or make the restore fail half-way through its plan), so refuse before touching anything.
            extra = sorted(_table_names(uri) - _backup_tables(source))
            if extra:
                raise BackupError(
                    f"database {shown(uri)} has tables the backup does not ({', '.join(extra)}): "
                    "restore into a new database"
                )
            command += ["--clean", "--if-exists"]
        _run([*command, "--dbname", _libpq_url(uri), str(source)], uri)
    else:
        raise BackupError(f"no restore for {backend} databases")
