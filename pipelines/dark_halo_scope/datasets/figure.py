"""A matplotlib figure saved as an image file that loads back as the image (kedro-datasets' ``load`` raises)."""

from __future__ import annotations

import io

from kedro.io.core import get_filepath_str
from kedro_datasets.matplotlib import MatplotlibDataset
from PIL import Image


class FigureDataset(MatplotlibDataset):
    """``matplotlib.MatplotlibDataset`` (one figure per file) whose ``load`` returns the saved image.

    kedro-datasets' ``MatplotlibDataset.load`` raises, so no node could read a figure (e.g. to list it in a
    results index). This one returns a ``PIL.Image.Image`` over the file's bytes: format and pixel size are read from
    the header at once, pixels are decoded only when used, and no file stays open. Saving, versioning and kedro-viz's
    preview are ``MatplotlibDataset``'s.
    """

    def load(self) -> Image.Image:
        path = get_filepath_str(self._get_load_path(), self._protocol)
        with self._fs.open(path, mode="rb") as fh:
            return Image.open(io.BytesIO(fh.read()))
