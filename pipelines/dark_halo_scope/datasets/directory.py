"""A folder of files written by a package's own writer, loaded back as its path."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Any

from kedro.io.core import AbstractDataset, DatasetError

from .reader import import_callable


class DirectoryDataset(AbstractDataset[Any, Path]):
    """A folder product (e.g. the RS features root: thresholds.json, <galaxy>/fields.npz, features.json).

    ``save(obj)`` calls ``writer(obj, <staging folder>, **save_args)`` and swaps the staging folder into
    ``filepath`` only when the writer returns, so a killed run never leaves a half-written folder.
    ``load()`` returns the folder's path, which is what the packages' consumers take (``features_root``).
    """

    def __init__(
        self, *, filepath: str, writer: str, save_args: dict[str, Any] | None = None, metadata: dict[str, Any] | None = None
    ) -> None:
        self._filepath = Path(filepath)
        self._writer = writer
        self._save_args = dict(save_args or {})
        self.metadata = metadata

    def save(self, data: Any) -> None:
        write = import_callable(self._writer)
        parent = self._filepath.parent
        parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(dir=parent, prefix=f".{self._filepath.name}."))
        old = parent / f".{self._filepath.name}.old"
        try:
            write(data, staging, **self._save_args)
            shutil.rmtree(old, ignore_errors=True)
            if self._filepath.exists():
                self._filepath.rename(old)
            staging.rename(self._filepath)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
            shutil.rmtree(old, ignore_errors=True)

    def load(self) -> Path:
        if not self._filepath.is_dir():
            raise DatasetError(f"folder '{self._filepath}' does not exist: run the node that writes it first")
        return self._filepath

    def _exists(self) -> bool:
        return self._filepath.is_dir()

    def _describe(self) -> dict[str, Any]:
        return {"filepath": str(self._filepath), "writer": self._writer}
