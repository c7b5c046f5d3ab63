"""Torch checkpoint dataset: the glens-sim checkpoint format behind the catalog.

The format (``{"state_dict": {name: tensor}, "meta": {...}}``, loaded with ``weights_only=True``) is
defined once, in :mod:`glens_sim.training` (:func:`~glens_sim.training.write_checkpoint`,
:func:`~glens_sim.training.read_checkpoint`); this class only adds the catalog's file handling
(fsspec paths, versioning, atomic local saves) of :class:`~._file.FileDataset`.

kedro-datasets' experimental ``pytorch.PyTorchDataset`` was considered and not used: it saves only
``model.state_dict()`` of an ``nn.Module`` (so the ``meta`` a checkpoint needs to rebuild its model —
input channels, result row, configuration — would be lost), and its saves are not atomic.
"""

from __future__ import annotations

import io
from typing import Any

from ._file import FileDataset


class TorchCheckpointDataset(FileDataset):
    """A checkpoint ``{"state_dict": {name: tensor}, "meta": {...}}`` in one ``.pt`` file.

    ``save`` accepts that dict, or an ``nn.Module`` (its ``state_dict()`` is stored with empty meta).
    ``load`` returns the dict; only tensors and plain containers are unpickled, so ``meta`` must hold
    plain Python values (str, int, float, bool, None, lists, dicts).

    Example catalog entry::

        model:
          type: dark_halo_scope.datasets.TorchCheckpointDataset
          filepath: data/06_models/model.pt
    """

    def _read(self, buffer: io.BytesIO) -> dict[str, Any]:
        from glens_sim.training import read_checkpoint

        return read_checkpoint(buffer)

    def _write(self, data: Any, buffer: io.BytesIO) -> None:
        import torch

        from glens_sim.training import write_checkpoint

        if isinstance(data, torch.nn.Module):
            data = {"state_dict": data.state_dict(), "meta": {}}
        write_checkpoint(data, buffer)
