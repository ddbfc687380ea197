"""Output files named on the command line (`-` is standard output).

Every command that writes named files goes through here, in two steps:

1. `check_outputs` before anything is touched: an output that names the
   input or another output (by path, through a symlink or a hard link), or
   that cannot be created, is an unusable argument (exit 2) while every
   file is still as it was.
2. `Outputs.open`: each regular file is written to a temporary file beside
   it, and `commit()` renames them all into place once the command has
   completed. A command that fails or crashes leaves the earlier files
   untouched and no temporary file behind. Devices and pipes (`/dev/null`,
   a FIFO) are written in place: renaming onto them would replace them.
"""

from __future__ import annotations

import contextlib
import io
import os
import stat
import tempfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO, Protocol, TextIO

from refmon.environment import Environment, UsageError

STDIO = "-"


class ByteSink(Protocol):
    def write(self, data: bytes, /) -> int: ...
    def flush(self) -> None: ...


@dataclass(frozen=True, slots=True)
class _Target:
    option: str
    given: str
    """The path as given: what messages name."""
    path: Path
    """Where the bytes go: the file a symlink points at, so that the link is kept."""
    in_place: bool
    """A device or pipe: written directly, never replaced."""
    mode: int
    """Permissions for the new file: the old file's, or what a plain open() would give."""
    owner: tuple[int, int] | None
    """The old file's owner and group, kept when the process may keep them."""


def _stat(option: str, given: str) -> os.stat_result | None:
    try:
        return os.stat(given)
    except FileNotFoundError:
        return None
    except OSError as err:
        raise UsageError(f"cannot use {given} for {option}: {err.strerror}") from None


def _identities(given: str, info: os.stat_result | None) -> set[object]:
    """What makes two names the same file: the resolved path, and device and inode if it exists."""
    keys: set[object] = {os.path.realpath(given)}
    if info is not None:
        keys.add((info.st_dev, info.st_ino))
    return keys


def _umask() -> int:
    # There is no way to read the umask without setting it; this runs before any thread starts.
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _target(option: str, given: str, info: os.stat_result | None, umask: int) -> _Target:
    if info is not None and stat.S_ISDIR(info.st_mode):
        raise UsageError(f"cannot write {given} for {option}: it is a directory")
    if info is not None and not stat.S_ISREG(info.st_mode):
        return _Target(option, given, Path(given), True, 0, None)
    path = Path(os.path.realpath(given))
    folder = path.parent
    if not folder.is_dir():
        raise UsageError(f"cannot write {given} for {option}: no directory {folder}")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise UsageError(f"cannot write {given} for {option}: {folder} is not writable")
    if info is not None and not os.access(path, os.W_OK):
        raise UsageError(f"cannot write {given} for {option}: permission denied")
    if info is None:
        return _Target(option, given, path, False, 0o666 & ~umask, None)
    return _Target(
        option, given, path, False, stat.S_IMODE(info.st_mode), (info.st_uid, info.st_gid)
    )


def _stdin_identity(stdin: BinaryIO | None) -> set[object]:
    """Standard input redirected from a file (`--input - < events.jsonl`) is that file."""
    try:
        info = os.fstat(stdin.fileno()) if stdin is not None else None
    except (OSError, ValueError, io.UnsupportedOperation):
        return set()
    return (
        {(info.st_dev, info.st_ino)} if info is not None and stat.S_ISREG(info.st_mode) else set()
    )


def check_outputs(
    outputs: Mapping[str, str | None],
    inputs: Mapping[str, str] | None = None,
    stdin: BinaryIO | None = None,
) -> Outputs:
    """Check every named output (option -> path, None when not given) against each other and the
    inputs (option -> path, `-` for `stdin`). Raises UsageError before anything is written."""
    seen: dict[object, str] = {}
    for option, given in (inputs or {}).items():
        keys = (
            _stdin_identity(stdin) if given == STDIO else _identities(given, _stat(option, given))
        )
        for key in keys:
            seen.setdefault(key, option)
    targets: dict[str, _Target | None] = {}
    umask = _umask()
    for option, named in outputs.items():
        if named is None or named == STDIO:
            targets[option] = None
            continue
        info = _stat(option, named)
        target = _target(option, named, info, umask)
        # Writing the same device twice is harmless (`--report /dev/null --findings /dev/null`).
        shareable = info is not None and stat.S_ISCHR(info.st_mode)
        for key in _identities(named, info):
            other = seen.get(key)
            if other is not None and not shareable:
                raise UsageError(f"{option} and {other} name the same file ({named})")
            seen.setdefault(key, option)
        targets[option] = target
    stdout = [option for option, given in outputs.items() if given == STDIO]
    if len(stdout) > 1:
        raise UsageError(f"only one of {', '.join(outputs)} can be -")
    return Outputs(dict(outputs), targets)


@dataclass
class Outputs:
    """The checked outputs of one command: `open` them, write, then `commit`."""

    given: dict[str, str | None]
    targets: dict[str, _Target | None]

    @contextlib.contextmanager
    def open(self, env: Environment) -> Iterator[OpenOutputs]:
        files = OpenOutputs(env, self.given)
        try:
            for option, target in self.targets.items():
                if target is not None:
                    files.start(option, target)
            yield files
        finally:
            files.discard()


@dataclass
class _Pending:
    target: _Target
    handle: BinaryIO
    temporary: Path | None
    """None for a target written in place."""
    text: TextIO | None = None


@dataclass
class OpenOutputs:
    env: Environment
    given: dict[str, str | None]
    pending: dict[str, _Pending] = field(default_factory=dict)

    def start(self, option: str, target: _Target) -> None:
        try:
            if target.in_place:
                handle: BinaryIO = open(target.path, "wb")  # noqa: SIM115 - closed in commit/discard
                self.pending[option] = _Pending(target, handle, None)
                return
            fd, name = tempfile.mkstemp(
                prefix=f".{target.path.name}.", suffix=".part", dir=target.path.parent
            )
        except OSError as err:
            raise UsageError(f"cannot write {target.given}: {err.strerror}") from None
        self.pending[option] = _Pending(target, os.fdopen(fd, "wb"), Path(name))

    def text(self, option: str) -> TextIO | None:
        """The output for `option` as text; standard output for `-`; None when not given."""
        if self.given.get(option) == STDIO:
            return self.env.stdout
        pending = self.pending.get(option)
        if pending is None:
            return None
        if pending.text is None:
            pending.text = io.TextIOWrapper(pending.handle, encoding="utf-8", newline="\n")
        return pending.text

    def binary(self, option: str) -> ByteSink | None:
        """The output for `option` as bytes; standard output for `-`; None when not given."""
        if self.given.get(option) == STDIO:
            return getattr(self.env.stdout, "buffer", None) or _TextBytes(self.env.stdout)
        pending = self.pending.get(option)
        return None if pending is None else pending.handle

    def commit(self) -> None:
        """Put every output in place: call once the command's work has completed."""
        for pending in self.pending.values():
            stream: BinaryIO | TextIO = pending.text or pending.handle
            stream.flush()
            if pending.temporary is not None:
                fd = pending.handle.fileno()
                os.fchmod(fd, pending.target.mode)
                owner = pending.target.owner
                if owner is not None and owner != (os.geteuid(), os.getegid()):
                    with contextlib.suppress(OSError):  # only root may give a file away
                        os.fchown(fd, *owner)
                # The new contents reach the disk before the name does: no empty file on power loss.
                os.fsync(fd)
            stream.close()
        for pending in self.pending.values():
            if pending.temporary is not None:
                os.replace(pending.temporary, pending.target.path)
                pending.temporary = None
        self.pending.clear()

    def discard(self) -> None:
        """Close and remove whatever was not committed; earlier files stay as they were."""
        for pending in self.pending.values():
            with contextlib.suppress(OSError, ValueError):
                (pending.text or pending.handle).close()
            if pending.temporary is not None:
                with contextlib.suppress(FileNotFoundError):
                    pending.temporary.unlink()
        self.pending.clear()


class _TextBytes:
    """Bytes onto a text stream that has no buffer (an in-process test's StringIO)."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream

    def write(self, data: bytes) -> int:
        return self._stream.write(data.decode("utf-8", "surrogateescape"))

    def flush(self) -> None:
        self._stream.flush()


def stale_files(root: Path, files: Mapping[str, str]) -> list[str]:
    """Which of `files` (relative path -> expected text) are missing under `root` or differ."""
    return [
        name
        for name, text in files.items()
        if not (root / name).is_file() or (root / name).read_text(encoding="utf-8") != text
    ]
