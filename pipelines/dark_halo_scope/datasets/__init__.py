"""Datasets that kedro-datasets lacks (catalog ``type: dark_halo_scope.datasets.X``).

- ``FITSDataset``: FITS files (image and table HDUs, headers kept), astropy.
- ``FigureDataset``: matplotlib figures saved as image files, loaded back as the image (``PIL.Image``).
- ``NpzDataset``: dicts of named numpy arrays as ``.npz``.
- ``TorchCheckpointDataset``: ``{"state_dict", "meta"}`` checkpoints, loaded ``weights_only``.
- ``TrackedMetricsDataset``: metrics JSON also logged to MLflow (nested runs for ablation variants).
- ``DirectoryDataset``: a folder written by a package writer, loaded as its path.
- ``ReaderDataset``: raw inputs parsed by a package reader, generated in the real format when absent.
"""

from .directory import DirectoryDataset
from .figure import FigureDataset
from .fits import FITSDataset
from .npz import NpzDataset
from .reader import ReaderDataset
from .torch_checkpoint import TorchCheckpointDataset
from .tracked import TrackedMetricsDataset

__all__ = ["DirectoryDataset", "FigureDataset", "FITSDataset", "NpzDataset", "ReaderDataset", "TorchCheckpointDataset", "TrackedMetricsDataset"]
from .stamp_store import StampStoreDataset  # noqa: E402  (dhs-inject)
