"""Torch checkpoint dataset: state dicts plus JSON-able metadata, loaded with ``weights_only=True``."""

from __future__ import annotations

import io
from collections.abc import Mapping
from typing import Any

from ._file import FileDataset


class TorchCheckpointDataset(FileDataset):
    """A checkpoint ``{"state_dict": {name: tensor}, "meta": {...}}`` saved with ``torch.save``.

    ``save`` accepts that dict, or an ``nn.Module`` (its ``state_dict()`` is stored with empty meta).
    ``load`` uses ``torch.load(weights_only=True, map_location="cpu")`` by default, so only tensors and
    plain containers are unpickled; ``meta`` must therefore hold plain Python values (str, int, float,
    bool, None, lists, dicts).
    """

    def _read(self, buffer: io.BytesIO) -> dict[str, Any]:
        import torch

        args = {"map_location": "cpu", "weights_only": True, **self._load_args}
        checkpoint = torch.load(buffer, **args)
        if not isinstance(checkpoint, Mapping) or "state_dict" not in checkpoint:
            raise ValueError("not a checkpoint: expected a mapping with a 'state_dict' key")
        return {"state_dict": checkpoint["state_dict"], "meta": dict(checkpoint.get("meta", {}))}

    def _write(self, data: Any, buffer: io.BytesIO) -> None:
        import torch

        if isinstance(data, torch.nn.Module):
            data = {"state_dict": data.state_dict(), "meta": {}}
        if not isinstance(data, Mapping) or "state_dict" not in data:
            raise TypeError("TorchCheckpointDataset.save expects an nn.Module or {'state_dict': ..., 'meta': {...}}")
        state = {k: v.detach().cpu() if hasattr(v, "detach") else v for k, v in data["state_dict"].items()}
        torch.save({"state_dict": state, "meta": dict(data.get("meta", {}))}, buffer, **self._save_args)
