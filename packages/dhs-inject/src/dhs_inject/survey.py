"""A survey folder as one input: coadd bricks, the survey-bricks table and the LRG host catalogue.

Layout (the real survey's, :mod:`dhs_inject.bricks`, plus one catalogue)::

    <root>/coadd/<ddd>/<brick>/legacysurvey-<brick>-{image,invvar}-<b>.fits.fz, -maskbits.fits.fz
    <root>/survey-bricks-dr10-south.fits.gz       per-brick edges and observing conditions
    <root>/lrg-hosts.parquet                      the LRGs to inject into (parent-catalogue columns)

For real data point ``root`` at a folder of DR10 bricks holding the bricks table, and ``lrg_catalogue`` at
the parent catalogue (e.g. ``phase3_lrg_parent_catalog_total_lrg_v3.parquet``) if it lives elsewhere.
:func:`write_embedded_survey` writes the embedded default: synthetic bricks in the real format hosting
real LRG photometry (:func:`dhs_inject.synthetic.write_synthetic_survey`).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from dhs_inject.bricks import read_bricks_table
from dhs_inject.lrg import read_lrg_catalogue
from dhs_inject.synthetic import BRICKS_TABLE_NAME, write_synthetic_survey

__all__ = ["LRG_HOSTS_NAME", "Survey", "read_survey", "write_embedded_survey"]

LRG_HOSTS_NAME = "lrg-hosts.parquet"


@dataclass(frozen=True)
class Survey:
    """A survey folder read: ``root`` (holding ``coadd/``), its bricks table and the LRG catalogue."""

    root: Path
    bricks: pd.DataFrame = field(repr=False)
    lrgs: pd.DataFrame = field(repr=False)


def read_survey(
    root: str | os.PathLike, *, bricks_table: str = BRICKS_TABLE_NAME, lrg_catalogue: str | os.PathLike | None = None
) -> Survey:
    """Read a survey folder (see the module notes).

    Parameters
    ----------
    root : survey folder.
    bricks_table : file name of the survey-bricks table inside ``root`` (FITS, parquet or CSV).
    lrg_catalogue : LRG catalogue (parquet, FITS or CSV, :func:`dhs_inject.lrg.read_lrg_catalogue`);
        default ``<root>/lrg-hosts.parquet``.

    Raises
    ------
    FileNotFoundError : ``root``, the bricks table or the catalogue is missing (naming it).
    ValueError : the bricks table lacks a required column (from :func:`dhs_inject.bricks.read_bricks_table`).
    """
    root = Path(root)
    if not (root / "coadd").is_dir():
        raise FileNotFoundError(f"survey folder '{root}' has no coadd/ folder of bricks")
    table = root / bricks_table
    if not table.is_file():
        raise FileNotFoundError(f"survey folder '{root}' has no bricks table '{bricks_table}'")
    catalogue = Path(lrg_catalogue) if lrg_catalogue is not None else root / LRG_HOSTS_NAME
    if not catalogue.is_file():
        raise FileNotFoundError(f"LRG catalogue '{catalogue}' does not exist")
    return Survey(root=root, bricks=read_bricks_table(table), lrgs=read_lrg_catalogue(catalogue))


def write_embedded_survey(
    root: str | os.PathLike, *, lrg_catalogue: str | os.PathLike, n_bricks: int = 4, seed: int = 0,
    lrgs_per_brick: int = 30, brick_pix: int = 480,
) -> Path:
    """Write synthetic bricks hosting real LRG photometry from ``lrg_catalogue`` plus ``lrg-hosts.parquet``.

    The hosts file holds the rows of ``lrg_catalogue`` actually placed, at their synthetic positions.
    """
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    hosts = write_synthetic_survey(root, read_lrg_catalogue(lrg_catalogue), n_bricks=n_bricks, seed=seed,
                                   lrgs_per_brick=lrgs_per_brick, brick_pix=brick_pix)  # fmt: skip
    hosts.to_parquet(root / LRG_HOSTS_NAME, index=False)
    return root
