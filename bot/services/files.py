"""Writing a file whole or not at all (exports, backups).

`replacing(target)` hands out a temporary name in the target's folder; only when the body
has finished is that file flushed to disk and renamed over the target, which is atomic in one
folder. If anything fails, the temporary file goes and the target is as it was: never a
half-written export or backup. A target that cannot be written is refused before anything is
written, with a reason (`WriteRefused`, worded in `bot.texts.CLI_WRITE_PROBLEMS`).
"""

from __future__ import annotations

import contextlib
import os
import secrets
import stat
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

NO_FOLDER = "no_folder"
IS_A_FOLDER = "is_a_folder"
NOT_WRITABLE = "not_writable"  # no file can be made in the folder
READ_ONLY = "read_only"  # the target is there, and read-only
PROTECTED = "protected"  # e.g. the store a backup copies
WRITE_FAILED = "write_failed"

# files SQLite may keep beside a database, here beside the temporary one
_SIDE_FILES = ("-journal", "-wal", "-shm")


class WriteRefused(Exception):
    """`target` cannot be written: `code` says why, `details` fill its wording."""

    def __init__(self, target: Path, code: str, **details: Any) -> None:
        super().__init__(f"{target}: {code}")
        self.target = target
        self.code = code
        self.details = details


@contextlib.contextmanager
def replacing(target: Path, *, protected: Iterable[Path] = ()) -> Iterator[Path]:
    """A temporary path to write instead of `target`, renamed over it once the body ends
    without an error; `protected` are files that `target` must not be."""
    folder = _checked(target, protected)
    try:
        temporary = _created(folder / f".{target.name}", _mode(target))
    except OSError as exc:
        raise WriteRefused(target, NOT_WRITABLE, folder=folder, error=_reason(exc)) from None
    try:
        yield temporary
        _flush(temporary)
        os.replace(temporary, target)
        _flush(folder)
    except OSError as exc:
        raise WriteRefused(target, WRITE_FAILED, error=_reason(exc)) from None
    finally:
        for path in (temporary, *(Path(f"{temporary}{side}") for side in _SIDE_FILES)):
            with contextlib.suppress(FileNotFoundError):
                path.unlink()


def _checked(target: Path, protected: Iterable[Path]) -> Path:
    """The target's folder, once it is known the target can be written there."""
    absolute = Path(os.path.abspath(target))
    folder = absolute.parent
    if absolute.is_dir():
        raise WriteRefused(target, IS_A_FOLDER)
    if not folder.is_dir():
        raise WriteRefused(target, NO_FOLDER, folder=folder)
    for kept in protected:
        if absolute.resolve() == kept.resolve() or _same_file(absolute, kept):
            raise WriteRefused(target, PROTECTED, protected=kept)
    if absolute.exists() and not os.access(absolute, os.W_OK):
        raise WriteRefused(target, READ_ONLY)
    return folder


def _created(stem: Path, mode: int | None) -> Path:
    """A new empty file `stem.<random>.partial`: readable as the umask says (where a
    temporary file of Python's would be private), or with `mode`, an earlier target's."""
    while True:
        path = Path(f"{stem}.{secrets.token_hex(4)}.partial")
        try:
            handle = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o666)
        except FileExistsError:
            continue
        try:
            if mode is not None:
                os.fchmod(handle, mode)
        finally:
            os.close(handle)
        return path


def _mode(target: Path) -> int | None:
    try:
        return stat.S_IMODE(target.stat().st_mode)
    except OSError:
        return None


def _same_file(one: Path, other: Path) -> bool:
    try:
        return os.path.samefile(one, other)
    except OSError:  # one of them does not exist
        return False


def _flush(path: Path) -> None:
    """What was written to `path` (a file, or a folder's entries) is on the disk."""
    handle = os.open(path, os.O_RDONLY)
    try:
        os.fsync(handle)
    finally:
        os.close(handle)


def _reason(exc: OSError) -> str:
    return (exc.strerror or str(exc)).lower()
