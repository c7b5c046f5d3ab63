"""The dhs-inject stamp store as a catalog entry (a folder of parquet parts, ``docs/stamp_store.md``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
from kedro.io.core import AbstractDataset, DatasetError

from ..atomic import staged


class StampStoreDataset(AbstractDataset[Any, Path]):
    """A stamp store folder: hive-partitioned parquet parts with ``fixed_shape_tensor`` stamps.

    ``save(data)``:

    * a job with a ``write(root)`` method (``dhs_inject.runners.InjectionJob``, what the ``dhs_inject``
      node returns) renders into ``filepath`` itself, part by part, each part atomic — so a killed run
      resumes where it stopped and finishes with no duplicate and no gap;
    * a DataFrame of store rows is written with ``dhs_inject.store.write_store`` into a staging folder
      swapped in when complete (:func:`dark_halo_scope.atomic.staged`).

    ``load()`` returns the folder's path: read it with ``dhs_inject.read_store(path, split, columns)`` or
    stream it with ``dhs_inject.iter_store_batches`` (stores larger than memory).

    Example::

        dhs_inject.stamp_store:
          type: dark_halo_scope.datasets.StampStoreDataset
          filepath: data/05_model_input/dhs_inject/stamp_store
    """

    def __init__(self, *, filepath: str, metadata: dict[str, Any] | None = None) -> None:
        self._filepath = Path(filepath)
        self.metadata = metadata

    def save(self, data: Any) -> None:
        if hasattr(data, "write"):
            data.write(self._filepath)
            return
        if not isinstance(data, pd.DataFrame):
            raise DatasetError(f"StampStoreDataset '{self._filepath}': expected a job with write(root) or a "
                               f"DataFrame of store rows, got {type(data).__name__}")
        from dhs_inject.store import write_store

        with staged(self._filepath) as staging:
            write_store(data, staging)

    def load(self) -> Path:
        if not self._filepath.is_dir():
            raise DatasetError(f"stamp store '{self._filepath}' does not exist: run the dhs_inject pipeline first")
        return self._filepath

    def _exists(self) -> bool:
        return self._filepath.is_dir()

    def _describe(self) -> dict[str, Any]:
        return {"filepath": str(self._filepath)}
