"""Diagnostic figures (matplotlib ``Figure`` objects; no pyplot state, nothing written).

* :func:`ring_figure` — source flux and its lensed image (the Einstein ring).
* :func:`horseshoe_figure` — source velocity and the lensed, masked velocity (the "kinematic
  horseshoe").
* :func:`debug_triplet_figure` — smooth lens / lens + subhalo / lens + subhalo + PSF + noise,
  flux and velocity rows, plus the clean subhalo-minus-smooth difference (spec §2.7's
  ``debug_subhalo_samples``).
* :func:`sweep_figure` — test accuracy against a swept setting, one line per channel mode.

All images are rendered with :func:`glens_sim.simulate.simulate_batch` and drawn with
``origin='lower'``. With ``arcsec_per_unit`` (a source tensor's ``meta["arcsec_per_unit"]``, the
``arcsec_per_unit`` column of the sources table) the axes are in arcseconds on the sky; without
it, in the simulation's normalised units (pixel centres at ``±half_width``). Masked velocity
pixels are shown in grey.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch
from matplotlib.figure import Figure

from .config import LensSimConfig
from .plotting import sky_axes
from .simulate import SimBatch, simulate_batch

__all__ = ["ring_figure", "horseshoe_figure", "debug_triplet_figure", "sweep_figure"]

_FLUX = {"cmap": "viridis", "vmin": 0.0, "vmax": 1.0}
_AXIS_LABELS = {
    "factor": "subhalo strength (θ_E,sub / θ_E)",
    "psf": "PSF σ (image pixels)",
    "flux_noise": "flux noise σ (normalised flux)",
    "vel_noise": "velocity noise σ (normalised velocity)",
    "accuracy": "test accuracy",
    "auc": "test ROC AUC",
}


def _vel_style(lim: float = 1.0) -> dict:
    import matplotlib

    cmap = matplotlib.colormaps["RdBu_r"].with_extremes(bad="0.8")
    return {"cmap": cmap, "vmin": -lim, "vmax": lim}


def _extent(n: int, half_width: float) -> tuple[float, float, float, float]:
    d = 2.0 * half_width / (n - 1)
    return (-half_width - d / 2, half_width + d / 2, -half_width - d / 2, half_width + d / 2)


def _unit(arcsec_per_unit: float | None) -> tuple[float, str]:
    """(scale from normalised units to the plotted unit, axis unit label)."""
    if arcsec_per_unit is None:
        return 1.0, "normalised units"
    if not arcsec_per_unit > 0:
        raise ValueError(f"arcsec_per_unit must be > 0, got {arcsec_per_unit!r}")
    return float(arcsec_per_unit), "arcsec"


def _as_source(source: np.ndarray | torch.Tensor) -> torch.Tensor:
    t = torch.as_tensor(np.asarray(source) if not isinstance(source, torch.Tensor) else source)
    if t.ndim != 3 or t.shape[0] != 2 or t.shape[1] != t.shape[2]:
        raise ValueError(f"source must have shape (2, N, N), got {tuple(t.shape)}")
    return t.float().cpu()[None]


def _clean(cfg: LensSimConfig) -> LensSimConfig:
    return cfg.replace(psf_sigma=0.0, flux_noise_sigma=0.0, vel_noise_sigma=0.0)


def _render(src: torch.Tensor, cfg: LensSimConfig, seed: int, **kw) -> SimBatch:
    return simulate_batch(src, cfg, generator=torch.Generator().manual_seed(int(seed)), **kw)


def _masked_vel(batch: SimBatch) -> np.ndarray:
    v = batch.images[0, 1].cpu().numpy().astype(float)
    return np.where(batch.vel_mask[0].cpu().numpy(), v, np.nan)


def _show(fig: Figure, ax, img: np.ndarray, hw: float, title: str, style: dict, label: str,
          scale: float = 1.0, unit: str = "normalised units") -> None:
    im = ax.imshow(img, origin="lower", extent=tuple(scale * e for e in _extent(img.shape[-1], hw)), **style)
    ax.set_title(title, fontsize=10)
    sky_axes(fig, ax, im, unit, label)


def _einstein_circle(ax, params: pd.Series, scale: float = 1.0) -> None:
    theta = np.linspace(0, 2 * np.pi, 200)
    te, cx, cy = (scale * params[k] for k in ("theta_E", "center_x", "center_y"))
    ax.plot(cx + te * np.cos(theta), cy + te * np.sin(theta), "w--", lw=0.8)


def _source_and_lensed(source, cfg, seed, title, arcsec_per_unit, channel: int) -> Figure:
    """Source | clean lensed image of one channel (0 flux, 1 velocity masked below threshold),
    the Einstein radius dashed on the lensed panel."""
    cfg = _clean(cfg or LensSimConfig())
    scale, unit = _unit(arcsec_per_unit)
    src = _as_source(source)
    lensed = _render(src, cfg, seed, lensed=True)
    fig = Figure(figsize=(9, 4), layout="constrained")
    ax = fig.subplots(1, 2)
    if channel == 0:
        theta_e = scale * lensed.params["theta_E"].iloc[0]
        name, style, image = "flux", _FLUX, lensed.images[0, 0].cpu().numpy()
        lensed_title = f"lensed flux ({cfg.main_profile}, θ_E = {theta_e:.3g}{'″' if arcsec_per_unit else ' units'})"
    else:
        name, style, image = "velocity", _vel_style(), _masked_vel(lensed)
        lensed_title = f"lensed velocity (flux ≥ {cfg.flux_mask_threshold:g})"
    label = f"{name} (normalised)"
    _show(fig, ax[0], src[0, channel].numpy(), cfg.source_half_width, f"source {name}", style, label, scale, unit)
    _show(fig, ax[1], image, cfg.half_width, lensed_title, style, label, scale, unit)
    _einstein_circle(ax[1], lensed.params.iloc[0], scale)
    if title:
        fig.suptitle(title)
    return fig


def ring_figure(
    source: np.ndarray | torch.Tensor, cfg: LensSimConfig | None = None, *, seed: int = 0,
    title: str | None = None, arcsec_per_unit: float | None = None,
) -> Figure:
    """Source flux | lensed flux (no PSF, no noise) with the Einstein radius dashed.

    ``source`` ``(2, N, N)``; ``arcsec_per_unit`` puts the axes in arcseconds (module docstring).
    """
    return _source_and_lensed(source, cfg, seed, title, arcsec_per_unit, channel=0)


def horseshoe_figure(
    source: np.ndarray | torch.Tensor, cfg: LensSimConfig | None = None, *, seed: int = 0,
    title: str | None = None, arcsec_per_unit: float | None = None,
) -> Figure:
    """Source velocity | lensed velocity (no PSF, no noise), masked where the lensed flux <
    threshold (grey); axes as :func:`ring_figure`."""
    return _source_and_lensed(source, cfg, seed, title, arcsec_per_unit, channel=1)


def debug_triplet_figure(
    source: np.ndarray | torch.Tensor, cfg: LensSimConfig | None = None, *, seed: int = 0,
    title: str | None = None, arcsec_per_unit: float | None = None,
) -> Figure:
    """Rows flux / velocity; columns: smooth (clean), + subhalo (clean), + subhalo with ``cfg``'s
    PSF and noise, and clean (subhalo − smooth). All columns share one macro lens and one
    subhalo position (marked ×)."""
    cfg = cfg or LensSimConfig()
    scale, unit = _unit(arcsec_per_unit)
    src = _as_source(source)
    sub = _render(src, _clean(cfg), seed, lensed=True, subhalo=True)
    smooth = _render(src, _clean(cfg), seed, lensed=True, subhalo=False, lens_params=sub.params)
    degraded = _render(src, cfg, seed, lensed=True, subhalo=True, lens_params=sub.params)
    p = sub.params.iloc[0]
    hw = cfg.half_width
    fig = Figure(figsize=(15, 7), layout="constrained")
    ax = fig.subplots(2, 4)
    cols = (
        (smooth, "smooth lens"),
        (sub, f"+ subhalo (factor {cfg.theta_E_sub_factor:g})"),
        (degraded, f"+ PSF σ={cfg.psf_sigma:g} px, noise {cfg.flux_noise_sigma:g}/{cfg.vel_noise_sigma:g}"),
    )
    for j, (b, name) in enumerate(cols):
        _show(fig, ax[0, j], b.images[0, 0].cpu().numpy(), hw, f"{name}: flux", _FLUX, "flux", scale, unit)
        _show(fig, ax[1, j], _masked_vel(b), hw, f"{name}: velocity", _vel_style(), "velocity", scale, unit)
    dflux = (sub.images[0, 0] - smooth.images[0, 0]).cpu().numpy()
    both = (sub.vel_mask[0] & smooth.vel_mask[0]).cpu().numpy()
    dvel = np.where(both, (sub.images[0, 1] - smooth.images[0, 1]).cpu().numpy(), np.nan)
    lim_f = max(float(np.abs(dflux).max()), 1e-6)
    lim_v = max(float(np.nanmax(np.abs(dvel))) if np.isfinite(dvel).any() else 0.0, 1e-6)
    _show(fig, ax[0, 3], dflux, hw, "subhalo − smooth: flux", _vel_style(lim_f), "Δ flux", scale, unit)
    _show(fig, ax[1, 3], dvel, hw, "subhalo − smooth: velocity", _vel_style(lim_v), "Δ velocity", scale, unit)
    for a in ax.flat:
        a.plot([scale * p["sub_x"]], [scale * p["sub_y"]], "kx", ms=7, mew=1.5)
    if title:
        fig.suptitle(title)
    return fig


def sweep_figure(table: pd.DataFrame, x: str = "factor", *, metric: str = "accuracy",
                 title: str | None = None) -> Figure:
    """``metric`` of a result table (see :data:`glens_sim.experiments.RESULT_COLUMNS`) against
    column ``x``, one line per (experiment, channel mode); chance level dotted."""
    for col in (x, metric, "channel_mode", "experiment"):
        if col not in table.columns:
            raise ValueError(f"result table has no column {col!r}")
    fig = Figure(figsize=(6, 4), layout="constrained")
    ax = fig.subplots()
    for (exp, mode), g in table.groupby(["experiment", "channel_mode"], sort=True):
        g = g.groupby(x, as_index=False)[metric].mean().sort_values(x)
        ax.plot(g[x], g[metric], "o-", label=f"{exp}: {mode}")
    ax.axhline(0.5, color="0.5", ls=":", lw=1, label="chance")
    ax.set_xlabel(_AXIS_LABELS.get(x, x), fontsize=10)
    ax.set_ylabel(_AXIS_LABELS.get(metric, metric), fontsize=10)
    ax.tick_params(labelsize=9)
    ax.set_ylim(0.0, 1.05)
    ax.legend(fontsize=8)
    if title:
        ax.set_title(title)
    return fig
