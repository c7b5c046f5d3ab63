"""NumPy ``.npz`` dataset: a mapping of names to arrays."""

from __future__ import annotations

import io
from collections.abc import Mapping
from typing import Any

import numpy as np

from ._file import FileDataset


class NpzDataset(FileDataset):
    """A dict of named numpy arrays stored as ``.npz``.

    ``save_args: {compress: true}`` (the default) uses ``np.savez_compressed``. Object arrays are
    refused on load (``allow_pickle=False``), so a file from elsewhere cannot execute code.
    """

    def _read(self, buffer: io.BytesIO) -> dict[str, np.ndarray]:
        with np.load(buffer, allow_pickle=False, **self._load_args) as npz:
            return {key: npz[key] for key in npz.files}

    def _write(self, data: Any, buffer: io.BytesIO) -> None:
        if not isinstance(data, Mapping):
            raise TypeError(f"NpzDataset.save expects a mapping of name -> array, got {type(data).__name__}")
        arrays = {str(k): np.asarray(v) for k, v in data.items()}
        bad = [k for k, v in arrays.items() if v.dtype == object]
        if bad:
            raise TypeError(f"NpzDataset.save: arrays {bad} have dtype=object, which .npz cannot store safely")
        save = np.savez_compressed if self._save_args.get("compress", True) else np.savez
        save(buffer, **arrays)
