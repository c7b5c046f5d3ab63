"""The project's one implementation of atomic writes: files and folders appear under their real name whole, or not at all.

Every catalog dataset of the project writes through here:

- kedro-datasets' file datasets (parquet, CSV, pickle, JSON, YAML, matplotlib, the files inside a
  ``PartitionedDataset``) and kedro-mlflow's wrappers of them open their target with ``self._fs.open(path, "wb")``
  on an fsspec filesystem. :func:`install` registers :class:`AtomicLocalFileSystem` as fsspec's ``file``
  implementation (``fsspec.register_implementation``), so every such open writes a temporary sibling that is
  renamed over the target (``os.replace``) only when the ``with`` block ends without an exception.
  ``settings.py`` calls :func:`install` when the project is configured, before any catalog exists.
- The project's own datasets (``datasets/_file.py``, ``directory.py``, ``reader.py``) use
  :class:`AtomicLocalFileSystem` and :func:`staged` directly, so they are atomic outside a Kedro session too.

Temporary names are ``.<name>.dhs-<host>-<pid>-<random>.part`` (files) and ``.<name>.dhs-<host>-<pid>-<random>.stage``
(folders), beside the target. A SIGKILL can leave one behind; :func:`clean_stale` (called at the start of every run
on the environment's data root) removes those whose process is gone, and never those of a live concurrent run.
Final files get ``0o666 & ~umask`` and folders ``0o777 & ~umask``, like files written with plain ``open``
(``tempfile.mkstemp``/``mkdtemp`` would leave 0600/0700).
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
import socket
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import fsspec
import psutil
from fsspec.implementations.local import LocalFileOpener, LocalFileSystem

HOST = socket.gethostname().split(".")[0].replace("-", "_") or "host"
_TEMP = re.compile(r"^\..+\.dhs-(?P<host>[^-]+)-(?P<pid>\d+)-[0-9a-f]{8}\.(?:part|stage)$")


def umask() -> int:
    """The process's umask (read from ``/proc/self/status`` when available, which does not change it)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except OSError:
        pass
    value = os.umask(0o022)
    os.umask(value)
    return value


def temp_name(target: Path, kind: str = "part") -> Path:
    """A fresh temporary sibling of ``target`` (same folder, so the final rename is atomic), owned by this process."""
    return target.parent / f".{target.name}.dhs-{HOST}-{os.getpid()}-{secrets.token_hex(4)}.{kind}"


def publish(temp: Path, target: Path) -> None:
    """Give ``temp`` the umask's permissions, flush it to disk and rename it over ``target`` (atomic on POSIX)."""
    os.chmod(temp, (0o777 if temp.is_dir() else 0o666) & ~umask())
    if temp.is_file():
        fd = os.open(temp, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
    os.replace(temp, target)


@contextmanager
def staged(target: str | os.PathLike[str], *, folder: bool = True) -> Iterator[Path]:
    """Yield a temporary sibling of ``target``; on success it replaces ``target`` (an old folder or file).

    With ``folder`` the sibling is created as an empty folder; otherwise it does not exist yet and the caller
    creates a file or a folder there. The swap of an existing folder is two renames (old → a ``.stage`` name,
    staged → target), so a kill between them leaves the target absent (never partial) and the old copy under a
    temporary name that :func:`clean_stale` removes.
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = temp_name(target, "stage")
    if folder:
        staging.mkdir()
    old = temp_name(target, "stage")
    try:
        yield staging
        if not staging.exists():
            raise FileNotFoundError(f"nothing was written to the staging path '{staging}' for '{target}'")
        if staging.is_dir():
            mask = umask()
            for sub in [staging, *staging.rglob("*")]:  # writers using mkstemp/mkdtemp leave 0600/0700
                if not sub.is_symlink():
                    os.chmod(sub, (0o777 if sub.is_dir() else 0o666) & ~mask)
            if target.is_dir() and not target.is_symlink():
                target.rename(old)
            os.replace(staging, target)
        else:
            publish(staging, target)
    finally:
        for leftover in (staging, old):
            if leftover.is_dir():
                shutil.rmtree(leftover, ignore_errors=True)
            elif leftover.exists():
                leftover.unlink()


def clean_stale(root: str | os.PathLike[str]) -> list[Path]:
    """Remove temporary files/folders under ``root`` left by dead processes of this host; return what was removed."""
    removed: list[Path] = []
    root = Path(root)
    if not root.is_dir():
        return removed
    for dirpath, dirnames, filenames in os.walk(root):
        for name in [*dirnames, *filenames]:
            match = _TEMP.match(name)
            if not match or match["host"] != HOST or psutil.pid_exists(int(match["pid"])):
                continue
            path = Path(dirpath) / name
            if path.is_dir():
                shutil.rmtree(path, ignore_errors=True)
                dirnames.remove(name)
            else:
                path.unlink(missing_ok=True)
            removed.append(path)
    return removed


class AtomicFileOpener(LocalFileOpener):
    """fsspec's local file object, writing to a temporary sibling renamed into place on a successful close."""

    def __init__(self, path: str, mode: str, **kwargs: Any) -> None:
        # autocommit=False selects fsspec's temporary-file branch; _open below puts the file beside the target.
        kwargs.pop("autocommit", None)
        self._exception_at_open = sys.exc_info()[1]
        self._failed = False
        super().__init__(path, mode, autocommit=False, **kwargs)

    def _open(self) -> None:
        if self.f is None or self.f.closed:
            self.temp = str(temp_name(Path(self.path)))
            self.f = open(self.temp, mode=self.mode.replace("x", "w"))  # noqa: SIM115 - closed in close()/__exit__

    def commit(self) -> None:
        if not Path(self.temp).exists() and self.f.closed:
            return  # already published (a transaction commits files that close() may have published)
        try:
            if not self.f.closed:
                self.f.close()  # flushes the last buffer: a full disk fails here
            publish(Path(self.temp), Path(self.path))
        except BaseException:
            Path(self.temp).unlink(missing_ok=True)
            raise

    def discard(self) -> None:
        if not self.f.closed:
            self.f.close()
        Path(self.temp).unlink(missing_ok=True)

    def close(self) -> None:
        """Publish the file, unless an exception raised since the open is propagating.

        Text-mode opens are wrapped in ``io.TextIOWrapper``, whose ``__exit__`` calls ``close()`` even when the
        ``with`` block failed; the exception being handled at that moment is how a failed save is told apart.
        """
        if self.f is None or self.f.closed:
            return
        current = sys.exc_info()[1]
        if self._failed or (current is not None and current is not self._exception_at_open):
            self.discard()
        elif getattr(self.fs, "_intrans", False):
            self.f.close()  # inside ``fs.transaction`` (e.g. Lightning's checkpoint save) the transaction commits
        else:
            self.commit()

    def write(self, *args: Any, **kwargs: Any) -> Any:
        try:
            return self.f.write(*args, **kwargs)
        except BaseException:
            self._failed = True  # a full disk: never publish what was written so far
            raise

    def flush(self) -> None:
        try:
            self.f.flush()
        except BaseException:
            self._failed = True
            raise

    def __exit__(self, exc_type: Any, exc_value: Any, traceback: Any) -> None:
        self._incontext = False
        if exc_type is None:
            self.close()
        else:
            self.discard()

    def __del__(self) -> None:  # an unclosed writer (e.g. after an error outside a with-block) is discarded
        f = self.__dict__.get("f")
        if f is not None and not f.closed and "temp" in self.__dict__:
            self.discard()


class AtomicLocalFileSystem(LocalFileSystem):
    """fsspec's local filesystem whose write-mode opens (``w``, ``x``; not ``a``/``+``) are atomic."""

    protocol = ("file", "local")

    def _open(self, path: str, mode: str = "rb", block_size: Any = None, **kwargs: Any) -> Any:
        if ("w" not in mode and "x" not in mode) or "+" in mode or kwargs.get("compression"):
            return super()._open(path, mode, block_size=block_size, **kwargs)
        path = self._strip_protocol(path)
        if self.auto_mkdir:
            self.makedirs(self._parent(path), exist_ok=True)
        return AtomicFileOpener(path, mode, fs=self, **kwargs)


def install() -> None:
    """Make :class:`AtomicLocalFileSystem` fsspec's ``file``/``local`` implementation for this process."""
    for protocol in ("file", "local"):
        fsspec.register_implementation(protocol, AtomicLocalFileSystem, clobber=True)
