"""Catalogue-level ranking of MaNGA rotating-disc candidates from DAPall + DRPall (spec §2.1).

Inputs: a DAPall table (DR17 ``dapall-v3_1_1-3.1.0.fits``, extension named by the DAPTYPE) and a
DRPall table (``drpall-v3_1_1.fits``, extension ``MANGA``), as FITS or CSV. They are joined
through the DAPall column ``DRPALLINDX`` (0-based row of DRPall), or through ``PLATEIFU`` when
that column is absent. Column names are matched case-insensitively.

1. keep ``DAPDONE == 1`` and ``DAPQUAL == 0`` (and ``DAPTYPE`` = the configured one, if present);
2. from DRPall: b/a = ``nsa_elpetro_ba``, R_e = ``nsa_elpetro_th50_r`` (arcsec), ``nsa_z``;
   inclination ``i = degrees(arccos(clip(b/a, 0.01, 1)))``;
3. from DAPall: ``HA_GSIGMA_1RE``, ``STELLAR_SIGMA_1RE`` and the 1-R_e Gaussian flux of the
   configured line, resolved **by name**: vector column ``EMLINE_GFLUX_1RE`` indexed through the
   ``ELG<nn>`` header keywords (1-based; DR17 order if the file has none, e.g. CSV), or a flat
   column ``emline_gflux_1re_<line>`` (CasJobs style, e.g. ``emline_gflux_1re_ha_6564``).
   The original read element 24 = ``NII-6585``; ``legacy_channel_index=24`` reproduces it;
4. cuts: ``ba_range[0] < b/a < ba_range[1]``, ``HA_GSIGMA_1RE > min_ha_sigma``,
   ``R_e > min_reff``, flux > 0;
5. score = w_f·z(log10 flux) + w_i·(−((i − i0)/Δi)²) + w_σ·z(log10 max(σ_Hα, σ_floor)), with
   z(v) = (v − median)/IQR over the survivors; sorted descending.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated

import numpy as np
import pandas as pd
from astropy.io import fits
from pydantic import Field

from .maps_io import DR17_EMLINE_CHANNELS
from .validation import config_dataclass

__all__ = ["RankingConfig", "rank_candidates", "read_catalogue", "read_dapall", "read_drpall", "robust_z"]

_DR17_DAPTYPE = "HYB10-MILESHC-MASTARHC2"


@config_dataclass
class RankingConfig:
    """Cuts and weights of the candidate ranking (defaults = the original work's; units beside each)."""

    line: str = "Ha-6564"
    legacy_channel_index: Annotated[int, Field(ge=0)] | None = None
    daptype: str = _DR17_DAPTYPE
    ba_range: tuple[float, float] = (0.3, 0.9)
    min_ha_sigma: float = 10.0  # km/s
    min_reff: float = 2.0  # arcsec
    target_inclination: float = 55.0  # deg
    inclination_width: float = 20.0  # deg
    sigma_floor: float = 5.0  # km/s
    w_flux: float = 1.0
    w_inclination: float = 0.7
    w_sigma: float = 0.5
    top_n: Annotated[int, Field(ge=1)] | None = None
    sas_root: str = "https://data.sdss.org/sas/dr17/manga/spectro/analysis/v3_1_1/3.1.0"


def robust_z(values: np.ndarray) -> np.ndarray:
    """(v − median) / IQR (IQR = 75th − 25th NumPy percentile; 1 if zero)."""
    values = np.asarray(values, dtype=np.float64)
    q25, med, q75 = np.percentile(values, [25, 50, 75])
    iqr = q75 - q25
    return (values - med) / (iqr if iqr > 0 else 1.0)


def _fits_frame(hdu: fits.BinTableHDU) -> pd.DataFrame:
    cols = {}
    for name in hdu.columns.names:
        arr = np.asarray(hdu.data[name])
        if arr.ndim > 1:
            cols[name] = list(arr.astype(np.float64))
        elif arr.dtype.kind in "SU":
            cols[name] = np.char.strip(arr.astype(str))
        else:
            cols[name] = arr.astype(arr.dtype.newbyteorder("="))
    return pd.DataFrame(cols)


def read_catalogue(path: str | Path, extension: str | int | None = None) -> pd.DataFrame:
    """Read a FITS binary table (``extension``: name or index; default first table) or a CSV.

    For FITS, ``ELG<nn>`` channel keywords (primary or table header) are kept in
    ``frame.attrs["emline_channels"]``. Errors name the file.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such catalogue file")
    name = path.name.lower()
    if name.endswith((".csv", ".csv.gz")):
        return pd.read_csv(path)
    try:
        with fits.open(path) as hdul:
            if extension is None:
                tables = [h for h in hdul if isinstance(h, fits.BinTableHDU)]
                if not tables:
                    raise ValueError(f"{path}: no binary-table extension")
                hdu = tables[0]
            else:
                try:
                    hdu = hdul[extension]
                except KeyError:
                    names = [h.name for h in hdul]
                    raise ValueError(f"{path}: no extension {extension!r} (has {names})") from None
            frame = _fits_frame(hdu)
            channels: dict[int, str] = {}
            for header in (hdul[0].header, hdu.header):
                for key in header:
                    if key.startswith("ELG") and key[3:].isdigit():
                        channels[int(key[3:]) - 1] = str(header[key]).strip()
    except OSError as exc:
        raise ValueError(f"{path}: not a readable FITS table ({exc})") from exc
    if channels:
        frame.attrs["emline_channels"] = [channels[i] for i in sorted(channels)]
    return frame


def read_dapall(path: str | Path, daptype: str = _DR17_DAPTYPE) -> pd.DataFrame:
    """DAPall table (FITS extension ``daptype`` if present, else the first table; or CSV)."""
    path = Path(path)
    if path.name.lower().endswith((".csv", ".csv.gz")):
        return read_catalogue(path)
    with fits.open(path) as hdul:
        ext = daptype if daptype in hdul else None
    return read_catalogue(path, ext)


def read_drpall(path: str | Path) -> pd.DataFrame:
    """DRPall table (FITS extension ``MANGA`` if present, else the first table; or CSV)."""
    path = Path(path)
    if path.name.lower().endswith((".csv", ".csv.gz")):
        return read_catalogue(path)
    with fits.open(path) as hdul:
        ext = "MANGA" if "MANGA" in hdul else None
    return read_catalogue(path, ext)


def _col(frame: pd.DataFrame, name: str, table: str) -> pd.Series:
    lookup = {c.lower(): c for c in frame.columns}
    if name.lower() not in lookup:
        raise KeyError(f"{table}: missing column {name!r}")
    return frame[lookup[name.lower()]]


def _line_flux(dapall: pd.DataFrame, config: RankingConfig) -> tuple[np.ndarray, str]:
    """1-R_e Gaussian flux of the configured line for every DAPall row, and the channel name."""
    channels: Sequence[str] = dapall.attrs.get("emline_channels") or DR17_EMLINE_CHANNELS
    lookup = {c.lower(): c for c in dapall.columns}
    if config.legacy_channel_index is not None:
        idx = config.legacy_channel_index
        label = channels[idx] if idx < len(channels) else f"index{idx}"
    else:
        flat = f"emline_gflux_1re_{config.line.lower().replace('-', '_')}"
        if flat in lookup:
            return pd.to_numeric(dapall[lookup[flat]], errors="coerce").to_numpy(float), config.line
        if config.line not in channels:
            raise KeyError(f"DAPall: emission line {config.line!r} not among the channels {list(channels)}")
        idx, label = list(channels).index(config.line), config.line
    vec = _col(dapall, "EMLINE_GFLUX_1RE", "DAPall")
    out = np.full(len(vec), np.nan)
    for k, cell in enumerate(vec):
        if isinstance(cell, str):  # CSV export of a vector: "[a, b, ...]", "{a,b}", "a b ..."
            cell = [float(x) for x in re.split(r"[,\s]+", cell.strip().strip("[]{}()").strip())]
        arr = np.asarray(cell, dtype=np.float64).ravel()
        if idx >= arr.size:
            raise ValueError(f"DAPall row {k}: EMLINE_GFLUX_1RE has {arr.size} elements, need index {idx}")
        out[k] = arr[idx]
    return out, label


def rank_candidates(
    dapall: pd.DataFrame, drpall: pd.DataFrame, config: RankingConfig = RankingConfig()
) -> pd.DataFrame:
    """Ranked candidate table (highest ``rank_score`` first).

    Columns: ``plateifu``, ``mangaid``, ``z``, ``ba``, ``inclination`` (deg), ``reff`` (arcsec),
    ``ha_gsigma_1re``, ``stellar_sigma_1re`` (km/s), ``flux_1re`` (1e-17 erg/s/cm²),
    ``flux_line``, ``rank_score``, ``maps_url`` (DR17 SAS location of the MAPS file).
    """
    dap = dapall.reset_index(drop=True)
    keep = (pd.to_numeric(_col(dap, "DAPDONE", "DAPall")) == 1) & (
        pd.to_numeric(_col(dap, "DAPQUAL", "DAPall")) == 0
    )
    if any(c.lower() == "daptype" for c in dap.columns):
        keep &= _col(dap, "DAPTYPE", "DAPall").astype(str).str.strip() == config.daptype
    flux, label = _line_flux(dap, config)
    plateifu = _col(dap, "PLATEIFU", "DAPall").astype(str).str.strip()

    drp = drpall.reset_index(drop=True)
    if any(c.lower() == "drpallindx" for c in dap.columns):
        index = pd.to_numeric(_col(dap, "DRPALLINDX", "DAPall")).to_numpy(int)
        bad = np.flatnonzero((index < 0) | (index >= len(drp)))
        if bad.size:
            raise ValueError(f"DAPall row {bad[0]}: DRPALLINDX {index[bad[0]]} outside DRPall ({len(drp)} rows)")
    else:
        pos = {p: i for i, p in enumerate(_col(drp, "plateifu", "DRPall").astype(str).str.strip())}
        missing = [p for p in plateifu if p not in pos]
        if missing:
            raise ValueError(f"DRPall: no row for plateifu {missing[0]!r}")
        index = np.array([pos[p] for p in plateifu])

    def drp_col(name: str) -> np.ndarray:
        return pd.to_numeric(_col(drp, name, "DRPall")).to_numpy(float)[index]

    ba = drp_col("nsa_elpetro_ba")
    reff = drp_col("nsa_elpetro_th50_r")
    sigma = pd.to_numeric(_col(dap, "HA_GSIGMA_1RE", "DAPall")).to_numpy(float)
    table = pd.DataFrame(
        {
            "plateifu": plateifu,
            "mangaid": _col(dap, "MANGAID", "DAPall").astype(str).str.strip()
            if any(c.lower() == "mangaid" for c in dap.columns)
            else "",
            "z": drp_col("nsa_z"),
            "ba": ba,
            "inclination": np.degrees(np.arccos(np.clip(ba, 0.01, 1.0))),
            "reff": reff,
            "ha_gsigma_1re": sigma,
            "stellar_sigma_1re": pd.to_numeric(_col(dap, "STELLAR_SIGMA_1RE", "DAPall")).to_numpy(float),
            "flux_1re": flux,
            "flux_line": label,
        }
    )
    lo, hi = config.ba_range
    keep &= (ba > lo) & (ba < hi) & (sigma > config.min_ha_sigma) & (reff > config.min_reff) & (flux > 0)
    table = table[keep.to_numpy()].reset_index(drop=True)
    if table.empty:
        return table.assign(rank_score=pd.Series(dtype=float), maps_url=pd.Series(dtype=str))
    incl_term = -(((table["inclination"] - config.target_inclination) / config.inclination_width) ** 2)
    table["rank_score"] = (
        config.w_flux * robust_z(np.log10(table["flux_1re"]))
        + config.w_inclination * incl_term
        + config.w_sigma * robust_z(np.log10(np.maximum(table["ha_gsigma_1re"], config.sigma_floor)))
    )
    table["maps_url"] = [
        f"{config.sas_root}/{config.daptype}/{p.split('-')[0]}/{p.split('-')[1]}/manga-{p}-MAPS-{config.daptype}.fits.gz"
        for p in table["plateifu"]
    ]
    table = table.sort_values("rank_score", ascending=False, kind="stable").reset_index(drop=True)
    return table.head(config.top_n) if config.top_n is not None else table
