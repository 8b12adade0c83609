"""Uploaded files: kept under instance/uploads/<random>/, never under static/, served only after an access check."""

import hashlib
import secrets
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from flask import current_app
from werkzeug.datastructures import FileStorage
from werkzeug.utils import secure_filename


def _root() -> Path:
    root = Path(current_app.config.get("PORTAL_UPLOAD_DIR") or Path(current_app.instance_path) / "uploads")
    root.mkdir(parents=True, exist_ok=True)
    return root


def new_key() -> str:
    return secrets.token_hex(16)


def save(upload: FileStorage, key: str, role: str) -> Path:
    """Store one uploaded file as ``<key>/<role>-<safe name>``; returns its path."""
    folder = _root() / key
    folder.mkdir(exist_ok=True)
    name = secure_filename(upload.filename or "") or "upload"
    path = folder / f"{role}-{name}"
    upload.save(path)
    return path


@dataclass
class Staged:
    """Files being uploaded under ``key``: removed when the block ends unless ``keep()`` was called."""

    key: str
    kept: bool = False

    def keep(self) -> None:
        """Something now points at the files (a committed preview): they stay."""
        self.kept = True


@contextmanager
def staged() -> Iterator[Staged]:
    """A new upload key whose files are removed at the end of the block, refused, failed or crashed alike,
    unless the block called ``keep()``: a refused or broken upload leaves nothing behind."""
    upload = Staged(new_key())
    try:
        yield upload
    finally:
        if not upload.kept:
            discard(upload.key)


def files(key: str) -> dict[str, Path]:
    """The stored files of a key, by role."""
    folder = _root() / key
    if not key or not folder.is_dir():
        return {}
    return {path.name.split("-", 1)[0]: path for path in folder.iterdir()}


def discard(key: str) -> None:
    if key and all(ch in "0123456789abcdef" for ch in key):
        shutil.rmtree(_root() / key, ignore_errors=True)


def discard_older_than(timestamp: float) -> int:
    """Discard every upload folder (``save``'s, not ``put_bytes``'s) last changed before ``timestamp``."""
    gone = 0
    for folder in _root().iterdir():
        is_key = len(folder.name) == 32 and all(ch in "0123456789abcdef" for ch in folder.name)
        if is_key and folder.is_dir() and folder.stat().st_mtime < timestamp:
            discard(folder.name)
            gone += 1
    return gone


# Files kept for good (exemption evidence): bytes under a random name with no extension, in one folder.


def put_bytes(data: bytes) -> str:
    """Store bytes under a new random key; returns the key."""
    folder = _root() / "files"
    folder.mkdir(exist_ok=True)
    key = new_key()
    (folder / key).write_bytes(data)
    return key


def bytes_path(key: str) -> Path:
    """Where ``put_bytes`` stored ``key``. :raise ValueError: not a key ``put_bytes`` makes."""
    if len(key) != 32 or not all(ch in "0123456789abcdef" for ch in key):
        raise ValueError("not a storage key")
    return _root() / "files" / key


def discard_bytes(key: str) -> None:
    bytes_path(key).unlink(missing_ok=True)


def digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
