"""Per-galaxy quality metrics of MaNGA maps (spec §2.3, with the §2.9 corrections).

Let F = flux with NaN at invalid spaxels, V = velocity with NaN at invalid spaxels.

* ``flux_min``/``flux_max``/``flux_mean``: NaN-ignoring statistics of F (1e-17 erg/s/cm²/spaxel).
* ``vel_min``/``vel_max``; ``vel_std``: population standard deviation (ddof=0) of V (km/s).
* ``vel_grad``: ordinary least-squares plane ``V ≈ a·x + b·y + c`` over finite V, x = column,
  y = row (0-based spaxel indices); ``sqrt(a² + b²)`` in **km/s per spaxel** (0.5″). NaN if
  fewer than ``min_pixels`` finite values.
* ``flux_vel_corr``: Pearson r of V and F where both are finite; NaN if ≤ ``min_pixels`` pairs.
* ``mask_fraction``: NaN count of V / all spaxels of the square frame (~0.5 is normal).
* ``n_valid_spaxels``: spaxels valid in both; ``total_spaxels`` = ny·nx.
* ``mask_mode`` / ``mask_bits``: the reader's mask rule and the ``MANGA_DAPPIXMASK`` bits it
  rejects (default ``unreliable`` = ``NOCOV|UNRELIABLE|DONOTUSE``, Marvin's default).
* ``frac_valid_in_1.5Re``: fraction of spaxels inside 1.5 R_e whose **flux** is valid.
  ``re_method="circle"`` (default): circle of radius ``1.5·REFF/0.5″`` about the galaxy centre
  (``MapsData.center_pix``; the original used (nx/2, ny/2), half a pixel off);
  ``"ellipse"``: DAP-native ``SPX_ELLCOO`` R/R_e ≤ 1.5; ``"legacy"``: the original's circle about
  (nx/2, ny/2). Without REFF the circle methods fall back to the ellipse (plane R/Re, the right
  one); NaN if neither exists. ``frac_valid_in_1.5Re_ell`` always reports the ellipse version.
* Flags (thresholds differ from the lensability hard rejects): ``flag_low_rotation`` =
  vel_grad < 2.0 or NaN; ``flag_heavily_masked`` = mask_fraction > 0.7; ``flag_low_flux`` =
  flux_max < 5 or NaN; ``usable`` = no flag; ``status`` = ``"OK"``, ``"EMPTY: <file>: ..."``
  (all spaxels masked) or ``"ERROR: <file>: <why>"`` (unreadable file).
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable
from pathlib import Path
from typing import Annotated, Literal

import numpy as np
import pandas as pd
from pydantic import Field
from tqdm.auto import tqdm

from .maps_io import MapsData, MapsFormatError, mask_bit_names, plateifu_from_path, read_maps
from .validation import config_dataclass

__all__ = [
    "QUALITY_COLUMNS",
    "QualityConfig",
    "frac_valid_in_re",
    "plane_fit_gradient",
    "quality_row",
    "quality_table",
]

QUALITY_COLUMNS: tuple[str, ...] = (
    "plateifu", "file", "line", "velocity_source", "mask_mode", "mask_bits", "ny", "nx",
    "flux_min", "flux_max", "flux_mean", "vel_min", "vel_max", "vel_std", "vel_grad",
    "flux_vel_corr", "mask_fraction", "n_valid_spaxels", "total_spaxels", "reff",
    "frac_valid_in_1.5Re", "frac_valid_in_1.5Re_ell", "flag_low_rotation",
    "flag_heavily_masked", "flag_low_flux", "usable", "status",
)  # fmt: skip


@config_dataclass
class QualityConfig:
    """Settings of the quality metrics (defaults = the original work's values).

    re_method: ``"circle"``, ``"ellipse"`` or ``"legacy"`` (see the module docstring).
    re_factor: radius of the coverage region in units of R_e (1.5).
    min_pixels: fewest finite spaxels for the plane fit and the correlation.
    low_rotation: ``flag_low_rotation`` below this ``vel_grad``, km/s per spaxel.
    heavily_masked: ``flag_heavily_masked`` above this ``mask_fraction``.
    low_flux: ``flag_low_flux`` below this ``flux_max``, 1e-17 erg/s/cm²/spaxel.
    """

    re_method: Literal["circle", "ellipse", "legacy"] = "circle"
    re_factor: Annotated[float, Field(gt=0)] = 1.5
    min_pixels: Annotated[int, Field(ge=3)] = 30
    low_rotation: Annotated[float, Field(ge=0)] = 2.0
    heavily_masked: Annotated[float, Field(ge=0, le=1)] = 0.7
    low_flux: float = 5.0


def plane_fit_gradient(values: np.ndarray, min_pixels: int = 30) -> float:
    """|∇| of the least-squares plane through the finite values of a 2-D map (units per pixel).

    Fits ``v = a·x + b·y + c`` with x = column and y = row index; returns ``hypot(a, b)``, NaN if
    fewer than ``min_pixels`` finite values.
    """
    values = np.asarray(values, dtype=np.float64)
    rows, cols = np.nonzero(np.isfinite(values))
    if rows.size < min_pixels:
        return float("nan")
    # Centre the coordinates for conditioning; the slopes are unchanged.
    x = cols - cols.mean()
    y = rows - rows.mean()
    v = values[rows, cols]
    design = np.column_stack([x, y, np.ones_like(x)])
    (a, b, _), *_ = np.linalg.lstsq(design, v, rcond=None)
    return float(np.hypot(a, b))


def frac_valid_in_re(maps: MapsData, config: QualityConfig = QualityConfig()) -> tuple[float, float]:
    """(fraction by ``config.re_method``, fraction by the SPX_ELLCOO ellipse); NaN if undefined."""
    ny, nx = maps.shape
    valid = maps.flux_valid

    def fraction(inside: np.ndarray) -> float:
        n_in = int(inside.sum())
        return float((valid & inside).sum() / n_in) if n_in else float("nan")

    ell = float("nan")
    if maps.r_over_re is not None:
        ell = fraction(np.isfinite(maps.r_over_re) & (maps.r_over_re <= config.re_factor))
    if config.re_method == "ellipse" or not np.isfinite(maps.reff) or maps.reff <= 0:
        return ell, ell
    if config.re_method == "legacy":
        cx, cy = nx / 2.0, ny / 2.0
    else:
        cx, cy = maps.center_pix
    r_lim = config.re_factor * maps.reff / maps.spaxel_scale
    yy, xx = np.mgrid[0:ny, 0:nx]
    return fraction(np.hypot(xx - cx, yy - cy) <= r_lim), ell


def _nan_stat(func, values: np.ndarray) -> float:
    if not np.isfinite(values).any():
        return float("nan")
    return float(func(values))


def quality_row(maps: MapsData, config: QualityConfig = QualityConfig()) -> dict:
    """All quality metrics and flags of one galaxy as a flat dict (keys = ``QUALITY_COLUMNS``)."""
    F = maps.flux_masked
    V = maps.velocity_masked
    ny, nx = maps.shape
    both = np.isfinite(F) & np.isfinite(V)
    corr = float("nan")
    if both.sum() > config.min_pixels:
        f, v = F[both], V[both]
        if f.std() > 0 and v.std() > 0:
            corr = float(np.corrcoef(f, v)[0, 1])
    frac, frac_ell = frac_valid_in_re(maps, config)
    row = {
        "plateifu": maps.plateifu,
        "file": str(maps.path),
        "line": maps.line,
        "velocity_source": maps.velocity_source,
        "mask_mode": maps.mask_mode,
        "mask_bits": mask_bit_names(maps.mask_mode),
        "ny": ny,
        "nx": nx,
        "flux_min": _nan_stat(np.nanmin, F),
        "flux_max": _nan_stat(np.nanmax, F),
        "flux_mean": _nan_stat(np.nanmean, F),
        "vel_min": _nan_stat(np.nanmin, V),
        "vel_max": _nan_stat(np.nanmax, V),
        "vel_std": _nan_stat(np.nanstd, V),
        "vel_grad": plane_fit_gradient(V, config.min_pixels),
        "flux_vel_corr": corr,
        "mask_fraction": float(np.isnan(V).sum() / V.size),
        "n_valid_spaxels": int(both.sum()),
        "total_spaxels": int(ny * nx),
        "reff": maps.reff,
        "frac_valid_in_1.5Re": frac,
        "frac_valid_in_1.5Re_ell": frac_ell,
    }
    row |= _flags(row, config)
    row["status"] = "OK" if row["n_valid_spaxels"] else (
        f"EMPTY: {maps.path}: no spaxel valid in both flux and velocity (mask={maps.mask_mode})"
    )
    return row


def _flags(row: dict, config: QualityConfig) -> dict:
    def below(value: float, threshold: float) -> bool:
        return not (np.isfinite(value) and value >= threshold)

    flags = {
        "flag_low_rotation": below(row["vel_grad"], config.low_rotation),
        "flag_heavily_masked": bool(row["mask_fraction"] > config.heavily_masked),
        "flag_low_flux": below(row["flux_max"], config.low_flux),
    }
    flags["usable"] = not any(flags.values())
    return flags


def _error_row(path: Path, message: str) -> dict:
    row = {c: np.nan for c in QUALITY_COLUMNS}
    row |= {
        "plateifu": plateifu_from_path(path) or path.name,
        "file": str(path),
        "flag_low_rotation": True,
        "flag_heavily_masked": True,
        "flag_low_flux": True,
        "usable": False,
        "status": f"ERROR: {message}",
    }
    return row


def quality_table(
    paths: Iterable[str | Path],
    config: QualityConfig = QualityConfig(),
    *,
    progress: bool = True,
    strict: bool = False,
    **read_kwargs,
) -> pd.DataFrame:
    """Quality table of MAPS files (one row per file, columns ``QUALITY_COLUMNS``).

    ``read_kwargs`` go to :func:`~glens_sim.maps_io.read_maps` (``line``, ``velocity``, ``mask``,
    ``legacy_channel_index``). A file that cannot be read gives a row with ``usable=False`` and
    ``status="ERROR: <file>: <reason>"``; with ``strict=True`` the error is raised instead.
    """
    rows = []
    for path in tqdm(list(paths), desc="MAPS quality", disable=not progress):
        path = Path(path)
        try:
            maps = read_maps(path, **read_kwargs)
        except MapsFormatError as exc:
            if strict:
                raise
            rows.append(_error_row(path, str(exc)))
            continue
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            rows.append(quality_row(maps, config))
    table = pd.DataFrame(rows, columns=list(QUALITY_COLUMNS))
    return table
