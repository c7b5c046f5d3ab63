"""Atomic file writers: every output is written to a temporary file in the target folder and moved into
place with ``os.replace``, so an interrupted run never leaves a truncated file behind. Files get the
permissions a plain ``open(path, "w")`` would give (0666 minus the umask), not ``mkstemp``'s 0600.
"""

from __future__ import annotations

import io
import json
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["atomic_write", "write_bytes", "write_text", "write_json", "write_npz", "write_fits", "write_png"]


def _umask() -> int:
    """The process umask (read by setting and restoring it; there is no read-only call)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def atomic_write(path: str | Path, write: Callable[[io.BufferedWriter], Any]) -> Path:
    """Call ``write(fh)`` on a temporary binary file next to ``path``, then move it onto ``path``.

    Parent folders are created. On any error the temporary file is removed and the error re-raised;
    an existing ``path`` is then left untouched.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            write(fh)
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return path


def write_bytes(path: str | Path, data: bytes) -> Path:
    """Write ``data`` atomically."""
    return atomic_write(path, lambda fh: fh.write(data))


def write_text(path: str | Path, text: str) -> Path:
    """Write UTF-8 ``text`` atomically."""
    return write_bytes(path, text.encode("utf-8"))


def write_json(path: str | Path, obj: Any) -> Path:
    """Write ``obj`` as indented JSON (2 spaces), atomically."""
    return write_text(path, json.dumps(obj, indent=2))


def write_npz(path: str | Path, arrays: dict[str, np.ndarray]) -> Path:
    """Write an uncompressed ``.npz`` holding ``arrays``, atomically."""
    return atomic_write(path, lambda fh: np.savez(fh, **arrays))


def write_fits(path: str | Path, hdul: Any) -> Path:
    """Write an astropy ``HDUList`` (or a single HDU) atomically."""
    buf = io.BytesIO()
    hdul.writeto(buf)
    return write_bytes(path, buf.getvalue())


def write_png(path: str | Path, figure: Any, dpi: int = 100) -> Path:
    """Save a matplotlib ``Figure`` as PNG, atomically."""
    buf = io.BytesIO()
    figure.savefig(buf, format="png", dpi=dpi)
    return write_bytes(path, buf.getvalue())
