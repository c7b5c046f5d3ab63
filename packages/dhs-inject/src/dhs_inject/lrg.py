"""LRG parent sample: the catalogue reader and the DHS selections v1–v4 (spec §2.2).

Selections are named cuts on the parent catalogue's columns (the upstream parquet's names):
``z_mag`` (AB), ``r_minus_z`` and ``z_minus_w1`` (mag). Whether the upstream magnitudes are
extinction-corrected is not recorded; the cuts are applied to the columns as given.

| name | z_mag < | r_minus_z > | z_minus_w1 > |
|---|---|---|---|
| v1 | 20.0 | 0.5 | 1.6 |
| v2 | 20.4 | 0.4 | 1.6 |
| v3 (``v3_color_relaxed``, the parent) | 20.4 | 0.4 | 0.8 |
| v4 | 21.0 | 0.4 | 0.8 |
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from astropy.table import Table
from pydantic import BaseModel, ConfigDict

__all__ = ["LrgCut", "LRG_SELECTIONS", "SELECTION_COLUMNS", "read_lrg_catalogue", "lrg_mask",
           "select_lrgs", "clean_lrgs", "lrg_ids"]

SELECTION_COLUMNS: tuple[str, ...] = ("z_mag", "r_minus_z", "z_minus_w1")


class LrgCut(BaseModel):
    """One colour–magnitude selection: ``z_mag < z_mag_max``, ``r_minus_z > rz_min``, ``z_minus_w1 > zw1_min``."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    z_mag_max: float
    rz_min: float
    zw1_min: float


LRG_SELECTIONS: dict[str, LrgCut] = {
    "v1": LrgCut(z_mag_max=20.0, rz_min=0.5, zw1_min=1.6),
    "v2": LrgCut(z_mag_max=20.4, rz_min=0.4, zw1_min=1.6),
    "v3": LrgCut(z_mag_max=20.4, rz_min=0.4, zw1_min=0.8),
    "v4": LrgCut(z_mag_max=21.0, rz_min=0.4, zw1_min=0.8),
}
_ALIASES = {"v3_color_relaxed": "v3"}


def read_lrg_catalogue(path: str | Path) -> pd.DataFrame:
    """Read an LRG catalogue (parquet, FITS or CSV) as stored (upstream upper-case Tractor names kept)."""
    path = Path(path)
    name = path.name.lower()
    if name.endswith(".parquet"):
        return pd.read_parquet(path)
    if name.endswith(".csv"):
        return pd.read_csv(path)
    frame = Table.read(path).to_pandas()
    for col in frame.columns:
        if frame[col].dtype == object and len(frame) and isinstance(frame[col].iloc[0], bytes):
            frame[col] = frame[col].str.decode("ascii").str.strip()
    return frame


def _cut(selection: str) -> LrgCut:
    key = _ALIASES.get(selection, selection)
    if key not in LRG_SELECTIONS:
        raise ValueError(f"unknown LRG selection {selection!r}: valid names {sorted(LRG_SELECTIONS) + sorted(_ALIASES)}")
    return LRG_SELECTIONS[key]


def lrg_mask(catalogue: pd.DataFrame, selection: str = "v3") -> np.ndarray:
    """Boolean mask (N,) of rows passing ``selection``; NaN values fail.

    Raises
    ------
    ValueError
        If the selection name is unknown or a needed column (:data:`SELECTION_COLUMNS`) is missing.
    """
    cut = _cut(selection)
    missing = [c for c in SELECTION_COLUMNS if c not in catalogue.columns]
    if missing:
        raise ValueError(f"LRG selection {selection!r} needs column(s) {missing}; the catalogue has "
                         f"{list(catalogue.columns)}")
    z = catalogue["z_mag"].to_numpy(np.float64)
    rz = catalogue["r_minus_z"].to_numpy(np.float64)
    zw1 = catalogue["z_minus_w1"].to_numpy(np.float64)
    return (z < cut.z_mag_max) & (rz > cut.rz_min) & (zw1 > cut.zw1_min)


def select_lrgs(catalogue: pd.DataFrame, selection: str = "v3") -> pd.DataFrame:
    """Rows of ``catalogue`` passing ``selection`` (index kept). See :func:`lrg_mask`."""
    return catalogue.loc[lrg_mask(catalogue, selection)]


def clean_lrgs(catalogue: pd.DataFrame, *, exclude_types: tuple[str, ...] = ("PSF",),
               z_mag_min: float = 16.0) -> pd.DataFrame:
    """Drop point sources (Tractor ``TYPE``) and implausibly bright objects (``z_mag < z_mag_min``).

    The upstream parent contains some mag 8–9 and PSF-type objects (stars/QSOs); this is the
    filter applied before sampling hosts. Raises ``ValueError`` if ``TYPE`` or ``z_mag`` is missing.
    """
    for col in ("TYPE", "z_mag"):
        if col not in catalogue.columns:
            raise ValueError(f"clean_lrgs needs column {col!r}; the catalogue has {list(catalogue.columns)}")
    typ = catalogue["TYPE"].astype(str).str.strip().str.upper()
    keep = ~typ.isin([t.upper() for t in exclude_types]) & (catalogue["z_mag"].to_numpy(np.float64) >= z_mag_min)
    return catalogue.loc[keep.to_numpy()]


def lrg_ids(catalogue: pd.DataFrame) -> np.ndarray:
    """A stable id per galaxy: ``<brick>_<objid>`` if ``OBJID`` exists, else ``<brick>_<ra%.6f><dec%+.6f>``.

    Raises ``ValueError`` if ``BRICKNAME``, ``RA`` or ``DEC`` is missing.
    """
    for col in ("BRICKNAME", "RA", "DEC"):
        if col not in catalogue.columns:
            raise ValueError(f"lrg_ids needs column {col!r}; the catalogue has {list(catalogue.columns)}")
    brick = catalogue["BRICKNAME"].astype(str).to_numpy()
    if "OBJID" in catalogue.columns:
        return np.char.add(np.char.add(brick.astype(str), "_"), catalogue["OBJID"].astype(str).to_numpy().astype(str))
    pos = [f"{r:.6f}{d:+.6f}" for r, d in zip(catalogue["RA"].to_numpy(np.float64), catalogue["DEC"].to_numpy(np.float64))]
    return np.char.add(np.char.add(brick.astype(str), "_"), np.asarray(pos, dtype=str))
