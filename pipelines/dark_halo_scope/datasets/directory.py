"""A folder of files written by a package's own writer, loaded back as its path."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from kedro.io.core import AbstractDataset, DatasetError

from ..atomic import staged
from .reader import import_callable


class DirectoryDataset(AbstractDataset[Any, Path]):
    """A folder product (e.g. the RS features root: thresholds.json, <galaxy>/fields.npz, features.json).

    ``save(obj)`` calls ``writer(obj, <staging folder>, **save_args)`` and swaps the staging folder into
    ``filepath`` only when the writer returns (:func:`dark_halo_scope.atomic.staged`), so a killed run never
    leaves a half-written folder. A writer that records its own folder's path (e.g. ``thresholds_file``) must record
    paths relative to the folder: the staging name disappears.
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
        with staged(self._filepath) as staging:
            write(data, staging, **self._save_args)

    def load(self) -> Path:
        if not self._filepath.is_dir():
            raise DatasetError(f"folder '{self._filepath}' does not exist: run the node that writes it first")
        return self._filepath

    def _exists(self) -> bool:
        return self._filepath.is_dir()

    def _describe(self) -> dict[str, Any]:
        return {"filepath": str(self._filepath), "writer": self._writer}
