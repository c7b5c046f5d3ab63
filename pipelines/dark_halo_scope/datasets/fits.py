"""FITS dataset (astropy): image and table HDUs, headers kept."""

from __future__ import annotations

import io
from collections.abc import Mapping
from typing import Any

import numpy as np
from astropy.io import fits
from astropy.table import Table

from ._file import FileDataset


def to_hdulist(data: Any) -> fits.HDUList:
    """Coerce ``data`` into an :class:`astropy.io.fits.HDUList`.

    Accepted: an ``HDUList``; a single HDU; a numpy array (primary image); an astropy ``Table``
    (binary table after an empty primary); or a mapping ``{EXTNAME: array | Table | HDU | (array, header)}``
    written in order after an empty primary HDU (an array under ``PRIMARY`` becomes the primary image).
    """
    if isinstance(data, fits.HDUList):
        return data
    if isinstance(data, fits.PrimaryHDU):
        return fits.HDUList([data])
    if isinstance(data, (fits.ImageHDU, fits.BinTableHDU, fits.TableHDU, fits.CompImageHDU)):
        return fits.HDUList([fits.PrimaryHDU(), data])
    if isinstance(data, np.ndarray):
        return fits.HDUList([fits.PrimaryHDU(data)])
    if isinstance(data, Table):
        return fits.HDUList([fits.PrimaryHDU(), fits.table_to_hdu(data)])
    if isinstance(data, Mapping):
        primary = fits.PrimaryHDU()
        hdus: list[fits.hdu.base.ExtensionHDU] = []
        for name, value in data.items():
            header = None
            if isinstance(value, tuple):
                value, header = value
            if str(name).upper() == "PRIMARY":
                primary = fits.PrimaryHDU(np.asarray(value), header=header)
                continue
            if isinstance(value, fits.PrimaryHDU):
                hdu = fits.ImageHDU(value.data, header=value.header)
            elif isinstance(value, (fits.ImageHDU, fits.BinTableHDU, fits.TableHDU)):
                hdu = value
            elif isinstance(value, Table):
                hdu = fits.table_to_hdu(value)
            else:
                hdu = fits.ImageHDU(np.asarray(value), header=header)
            hdu.name = str(name).upper()
            hdus.append(hdu)
        return fits.HDUList([primary, *hdus])
    raise TypeError(
        "FITSDataset.save expects an HDUList, an HDU, a numpy array, an astropy Table or a mapping "
        f"of EXTNAME to those; got {type(data).__name__}"
    )


class FITSDataset(FileDataset):
    """A FITS file as an in-memory :class:`astropy.io.fits.HDUList`.

    ``load`` returns every HDU with its header and data read into memory (the file is closed).
    ``save`` accepts what :func:`to_hdulist` accepts; ``save_args`` go to ``HDUList.writeto``
    (``checksum: true`` adds CHECKSUM/DATASUM cards). Example catalog entry::

        sigmab:
          type: dark_halo_scope.datasets.FITSDataset
          filepath: data/04_feature/pilot/sigmab.fits
          save_args: {checksum: true}
    """

    def _read(self, buffer: io.BytesIO) -> fits.HDUList:
        with fits.open(buffer, lazy_load_hdus=False, memmap=False, **self._load_args) as hdul:
            hdul.verify("exception")
            return fits.HDUList([hdu.copy() for hdu in hdul])

    def _write(self, data: Any, buffer: io.BytesIO) -> None:
        to_hdulist(data).writeto(buffer, **self._save_args)
