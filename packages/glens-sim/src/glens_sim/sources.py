"""Source tensors from MaNGA maps: robust normalisation and resampling to an N×N grid.

A source tensor is a float32 array of shape ``(2, N, N)``: channel 0 = flux normalised to
[0, 1], channel 1 = velocity normalised to [-1, 1]; rows = DAP y, columns = DAP x (plot with
``origin='lower'``). Recipe (spec §2.5, the original work's ``prep_source_maps``):

1. flux over valid spaxels: ``f = clip((flux - p5) / (p99.5 - p5), 0, 1)`` (NumPy linear
   percentiles; scale 1 if ≤ 0); invalid spaxels → 0;
2. velocity over spaxels valid in *both* maps: ``v = clip((vel - median) / s, -1, 1)`` with
   ``s`` = 95th percentile of ``|vel - median|`` (1 if 0); other spaxels → 0;
3. each normalised map is resampled to N×N with ``scipy.ndimage.zoom(order=1)`` (SciPy defaults:
   corner pixel centres map to corner pixel centres, zeros outside), so masked zeros blend in
   at edges.

Geometry: the lensing grid puts the N pixel centres at ``linspace(-1, 1, N)``, so one normalised
unit = ``(nx - 1)·spaxel/2`` arcsec (``arcsec_per_unit`` in the metadata; 17.75″ for a 72-px map).

An all-masked (or nearly all-masked) map raises :class:`SourceError` naming the file; a tensor is
never returned with NaN.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from pydantic import Field
from scipy import ndimage
from tqdm.auto import tqdm

from .atomic import atomic_write
from .maps_io import MapsData, MapsFormatError, read_maps
from .plotting import sky_axes
from .validation import config_dataclass

__all__ = [
    "SourceConfig",
    "SourceError",
    "SourceTensor",
    "build_source_tensors",
    "compactness_metrics",
    "load_source_tensor",
    "make_source_tensor",
    "normalise_flux",
    "normalise_velocity",
    "resample",
    "save_source_preview",
    "save_source_tensor",
    "source_gallery_figure",
    "source_preview_figure",
    "source_tensor_from_arrays",
]


class SourceError(ValueError):
    """Maps cannot give a source tensor (all masked, too few valid spaxels, non-finite result)."""


@config_dataclass
class SourceConfig:
    """Normalisation and resampling settings.

    size : output side N in pixels (64 default; 128 supported; any N ≥ 2 works).
    flux_percentiles : (low, high) percentiles mapped to 0 and 1.
    vel_scale_percentile : percentile of ``|v - median|`` mapped to ±1.
    min_valid : minimum number of valid spaxels in the flux map and in flux∧velocity.
    order : spline order for ``scipy.ndimage.zoom`` (1 = bilinear).
    """

    size: Annotated[int, Field(ge=2)] = 64
    flux_percentiles: tuple[Annotated[float, Field(ge=0, le=100)], Annotated[float, Field(ge=0, le=100)]] = (5.0, 99.5)
    vel_scale_percentile: Annotated[float, Field(gt=0, le=100)] = 95.0
    min_valid: Annotated[int, Field(ge=1)] = 30
    order: Annotated[int, Field(ge=0, le=5)] = 1


@dataclass(frozen=True)
class SourceTensor:
    """A normalised, resampled source with its provenance.

    tensor : (2, N, N) float32, [flux ∈ [0,1], velocity ∈ [-1,1]].
    meta : plain dict (``p_low``, ``p_high``, ``flux_sum`` (raw valid flux, 1e-17 erg/s/cm²),
        ``vel_median`` and ``vel_scale`` (km/s), ``n_valid_flux``, ``n_valid_both``,
        ``native_ny``, ``native_nx``, ``arcsec_per_unit``, ``line``, ``velocity_source``,
        ``mask_mode``, ``path``) plus the compactness metrics of the resampled flux.
    """

    plateifu: str
    tensor: np.ndarray
    meta: dict


def normalise_flux(
    flux: np.ndarray, valid: np.ndarray, percentiles: tuple[float, float] = (5.0, 99.5)
) -> tuple[np.ndarray, dict]:
    """Flux → [0, 1] by percentiles over valid finite spaxels; invalid → 0."""
    flux = np.asarray(flux, dtype=np.float64)
    ok = np.asarray(valid, bool) & np.isfinite(flux)
    if not ok.any():
        raise SourceError("no valid flux spaxel")
    lo, hi = np.percentile(flux[ok], percentiles)
    scale = hi - lo if hi - lo > 0 else 1.0
    out = np.where(ok, np.clip((np.where(ok, flux, 0.0) - lo) / scale, 0.0, 1.0), 0.0)
    return out, {"p_low": float(lo), "p_high": float(hi), "flux_sum": float(flux[ok].sum())}


def normalise_velocity(
    velocity: np.ndarray, valid: np.ndarray, scale_percentile: float = 95.0
) -> tuple[np.ndarray, dict]:
    """Velocity → [-1, 1]: median-centred, divided by a percentile of |v - median|; invalid → 0."""
    velocity = np.asarray(velocity, dtype=np.float64)
    ok = np.asarray(valid, bool) & np.isfinite(velocity)
    if not ok.any():
        raise SourceError("no valid velocity spaxel")
    med = float(np.median(velocity[ok]))
    scale = float(np.percentile(np.abs(velocity[ok] - med), scale_percentile))
    scale = scale if scale > 0 else 1.0
    out = np.where(ok, np.clip((np.where(ok, velocity, med) - med) / scale, -1.0, 1.0), 0.0)
    return out, {"vel_median": med, "vel_scale": scale}


def resample(image: np.ndarray, size: int = 64, order: int = 1) -> np.ndarray:
    """Resample a 2-D map to ``size × size`` (``scipy.ndimage.zoom``, corners aligned, zero fill)."""
    image = np.asarray(image, dtype=np.float64)
    ny, nx = image.shape
    out = ndimage.zoom(image, (size / ny, size / nx), order=order, mode="constant", cval=0.0)
    if out.shape != (size, size):  # zoom rounds the output shape; guard against surprises
        raise SourceError(f"resampling {image.shape} gave {out.shape}, expected {(size, size)}")
    return out


def compactness_metrics(flux: np.ndarray) -> dict:
    """Compactness of a (resampled, non-negative) flux map, in pixels from the array centre.

    ``flux_total``; ``flux_frac_center5`` = fraction in the central 5×5 box
    (rows/cols ``int(c-2)…int(c+2)``, c = (n-1)/2); ``r_half_pix`` / ``r80_pix`` = smallest
    radius whose enclosed (radius-sorted cumulative) flux reaches 50 % / 80 %.
    """
    flux = np.asarray(flux, dtype=np.float64)
    n = flux.shape[0]
    c = (n - 1) / 2.0
    total = float(flux.sum())
    lo, hi = int(c - 2), int(c + 2)
    yy, xx = np.mgrid[0 : flux.shape[0], 0 : flux.shape[1]]
    r = np.hypot(yy - c, xx - c).ravel()
    order = np.argsort(r, kind="stable")
    cum = np.cumsum(flux.ravel()[order])
    if total <= 0:
        return {"flux_total": total, "flux_frac_center5": np.nan, "r_half_pix": np.nan, "r80_pix": np.nan}
    return {
        "flux_total": total,
        "flux_frac_center5": float(flux[lo : hi + 1, lo : hi + 1].sum() / total),
        "r_half_pix": float(r[order][np.searchsorted(cum, 0.5 * total)]),
        "r80_pix": float(r[order][np.searchsorted(cum, 0.8 * total)]),
    }


def source_tensor_from_arrays(
    flux: np.ndarray,
    flux_valid: np.ndarray,
    velocity: np.ndarray,
    vel_valid: np.ndarray,
    config: SourceConfig = SourceConfig(),
    *,
    name: str = "<arrays>",
) -> tuple[np.ndarray, dict]:
    """Normalise + resample raw maps → ((2, N, N) float32, metadata). ``name`` labels errors."""
    flux_valid = np.asarray(flux_valid, bool) & np.isfinite(flux)
    both = flux_valid & np.asarray(vel_valid, bool) & np.isfinite(velocity)
    n_flux, n_both = int(flux_valid.sum()), int(both.sum())
    if n_flux < config.min_valid or n_both < config.min_valid:
        raise SourceError(
            f"{name}: too few valid spaxels for a source tensor "
            f"(flux {n_flux}, flux∧velocity {n_both}, need ≥ {config.min_valid})"
        )
    f, fmeta = normalise_flux(flux, flux_valid, config.flux_percentiles)
    v, vmeta = normalise_velocity(velocity, both, config.vel_scale_percentile)
    tensor = np.stack(
        [resample(f, config.size, config.order), resample(v, config.size, config.order)]
    ).astype(np.float32)
    if not np.isfinite(tensor).all():
        raise SourceError(f"{name}: non-finite values in the source tensor")
    ny, nx = np.shape(flux)
    meta = fmeta | vmeta | {"n_valid_flux": n_flux, "n_valid_both": n_both, "native_ny": ny, "native_nx": nx}
    return tensor, meta | compactness_metrics(tensor[0])


def make_source_tensor(maps: MapsData, config: SourceConfig = SourceConfig()) -> SourceTensor:
    """Source tensor of one :class:`~glens_sim.maps_io.MapsData` (raises :class:`SourceError`)."""
    tensor, meta = source_tensor_from_arrays(
        maps.flux, maps.flux_valid, maps.velocity, maps.vel_valid, config, name=str(maps.path)
    )
    meta |= {
        "arcsec_per_unit": (maps.shape[1] - 1) * maps.spaxel_scale / 2.0,
        "line": maps.line,
        "velocity_source": maps.velocity_source,
        "mask_mode": maps.mask_mode,
        "path": str(maps.path),
    }
    return SourceTensor(plateifu=maps.plateifu, tensor=tensor, meta=meta)


def build_source_tensors(
    paths,
    config: SourceConfig = SourceConfig(),
    *,
    progress: bool = True,
    strict: bool = False,
    **read_kwargs,
) -> tuple[dict[str, np.ndarray], pd.DataFrame]:
    """Source tensors of many MAPS files → (``{plateifu: (2, N, N) float32}``, per-file table).

    ``paths``: MAPS files (e.g. the ``file`` column of a scored table filtered by tier);
    ``read_kwargs`` go to :func:`~glens_sim.maps_io.read_maps`. The table has one row per file:
    ``plateifu``, ``status`` (``"OK"`` or ``"ERROR: <file>: <reason>"``) and the tensor metadata.
    A file that fails is reported in the table and left out of the dict (raised if ``strict``).
    """
    tensors: dict[str, np.ndarray] = {}
    rows = []
    for path in tqdm(list(paths), desc="source tensors", disable=not progress):
        try:
            src = make_source_tensor(read_maps(path, **read_kwargs), config)
        except (MapsFormatError, SourceError) as exc:
            if strict:
                raise
            rows.append({"plateifu": Path(path).name, "path": str(path), "status": f"ERROR: {exc}"})
            continue
        tensors[src.plateifu] = src.tensor
        rows.append({"plateifu": src.plateifu, "status": "OK", **src.meta})
    return tensors, pd.DataFrame(rows)


def save_source_tensor(tensor: np.ndarray, path: str | Path) -> Path:
    """Write a (2, N, N) tensor as ``.npy`` atomically."""
    arr = np.asarray(tensor, dtype=np.float32)

    def write(tmp: str) -> None:
        with open(tmp, "wb") as fh:
            np.save(fh, arr)

    return atomic_write(path, write)


def load_source_tensor(path: str | Path) -> np.ndarray:
    """Read a source tensor written by :func:`save_source_tensor` as float32 ``(2, N, N)``.

    Raises :class:`SourceError` naming the file when it is not a readable ``.npy`` or not a
    finite ``(2, N, N)`` array.
    """
    try:
        arr = np.load(path)
    except (OSError, ValueError) as exc:
        raise SourceError(f"{path}: cannot read as .npy ({exc})") from None
    if arr.ndim != 3 or arr.shape[0] != 2 or not np.isfinite(arr).all():
        raise SourceError(f"{path}: not a finite (2, N, N) source tensor (shape {arr.shape})")
    return arr.astype(np.float32, copy=False)


def _source_panels(fig: Figure, axes, tensor: np.ndarray, arcsec_per_unit: float | None) -> None:
    """Flux (viridis, [0, 1]) and velocity (RdBu_r, [-1, 1]) of one tensor on two axes, in arcsec
    on the sky when the scale is known (pixel centres at ±``arcsec_per_unit``)."""
    n = tensor.shape[-1]
    half = 1.0 + 1.0 / (n - 1)  # pixel centres at ±1 normalised unit, plus half a pixel
    scale, unit = (arcsec_per_unit, "arcsec") if arcsec_per_unit else (1.0, "normalised units")
    extent = (-half * scale, half * scale, -half * scale, half * scale)
    for ax, img, label, cmap, lim in (
        (axes[0], tensor[0], "flux (normalised)", "viridis", (0, 1)),
        (axes[1], tensor[1], "velocity (normalised)", "RdBu_r", (-1, 1)),
    ):
        im = ax.imshow(img, origin="lower", cmap=cmap, vmin=lim[0], vmax=lim[1], extent=extent)
        sky_axes(fig, ax, im, unit, label)


def source_preview_figure(tensor: np.ndarray, title: str | None = None, *,
                          arcsec_per_unit: float | None = None) -> Figure:
    """Side-by-side flux and velocity panels of a ``(2, N, N)`` tensor, ``origin='lower'``.

    With ``arcsec_per_unit`` (``SourceTensor.meta["arcsec_per_unit"]``) the axes are arcseconds on
    the sky; otherwise normalised units.
    """
    fig = Figure(figsize=(8, 3.6), layout="constrained")
    _source_panels(fig, fig.subplots(1, 2), np.asarray(tensor), arcsec_per_unit)
    if title:
        fig.suptitle(title)
    return fig


def source_gallery_figure(tensors: dict[str, np.ndarray], table: pd.DataFrame | None = None) -> Figure:
    """All source tensors in one figure: a row (flux, velocity) per galaxy, sorted by id.

    ``table`` (the per-file table of :func:`build_source_tensors`) gives each galaxy's
    ``arcsec_per_unit``, so every panel is in arcseconds on the sky.
    """
    if not tensors:
        raise ValueError("no source tensors to show")
    scales = {}
    if table is not None and "arcsec_per_unit" in table:
        scales = dict(zip(table["plateifu"].astype(str), table["arcsec_per_unit"]))
    ids = sorted(tensors)
    fig = Figure(figsize=(8, 3.0 * len(ids)), layout="constrained")
    axes = np.atleast_2d(fig.subplots(len(ids), 2))
    for row, pid in zip(axes, ids):
        _source_panels(fig, row, np.asarray(tensors[pid]), scales.get(pid))
        row[0].set_title(f"{pid}: flux", fontsize=10)
        row[1].set_title(f"{pid}: velocity", fontsize=10)
    return fig


def save_source_preview(tensor: np.ndarray, path: str | Path, title: str | None = None, *,
                        arcsec_per_unit: float | None = None) -> Path:
    """Write the preview of :func:`source_preview_figure` as PNG atomically."""
    fig = source_preview_figure(tensor, title, arcsec_per_unit=arcsec_per_unit)
    return atomic_write(path, lambda tmp: fig.savefig(tmp, format="png", dpi=90))
