"""Diagnostic figures (matplotlib ``Figure`` objects; no pyplot state, nothing written).

* :func:`ring_figure` — source flux and its lensed image (the Einstein ring).
* :func:`horseshoe_figure` — source velocity and the lensed, masked velocity (the "kinematic
  horseshoe").
* :func:`debug_triplet_figure` — smooth lens / lens + subhalo / lens + subhalo + PSF + noise,
  flux and velocity rows, plus the clean subhalo-minus-smooth difference (spec §2.7's
  ``debug_subhalo_samples``).
* :func:`sweep_figure` — test accuracy against a swept setting, one line per channel mode.

All images are rendered with :func:`glens_sim.simulate.simulate_batch` and drawn with
``origin='lower'`` on axes in normalised units (pixel centres at ``±half_width``). Masked
velocity pixels are shown in grey.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch
from matplotlib.figure import Figure

from .config import LensSimConfig
from .simulate import SimBatch, simulate_batch

__all__ = ["ring_figure", "horseshoe_figure", "debug_triplet_figure", "sweep_figure"]

_FLUX = {"cmap": "viridis", "vmin": 0.0, "vmax": 1.0}


def _vel_style(lim: float = 1.0) -> dict:
    import matplotlib

    cmap = matplotlib.colormaps["RdBu_r"].with_extremes(bad="0.8")
    return {"cmap": cmap, "vmin": -lim, "vmax": lim}


def _extent(n: int, half_width: float) -> tuple[float, float, float, float]:
    d = 2.0 * half_width / (n - 1)
    return (-half_width - d / 2, half_width + d / 2, -half_width - d / 2, half_width + d / 2)


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


def _show(fig: Figure, ax, img: np.ndarray, hw: float, title: str, style: dict, label: str) -> None:
    im = ax.imshow(img, origin="lower", extent=_extent(img.shape[-1], hw), **style)
    ax.set_title(title, fontsize=9)
    ax.set_xlabel("x (normalised)", fontsize=8)
    ax.set_ylabel("y (normalised)", fontsize=8)
    ax.tick_params(labelsize=7)
    fig.colorbar(im, ax=ax, shrink=0.8, label=label)


def _einstein_circle(ax, params: pd.Series) -> None:
    theta = np.linspace(0, 2 * np.pi, 200)
    te, cx, cy = params["theta_E"], params["center_x"], params["center_y"]
    ax.plot(cx + te * np.cos(theta), cy + te * np.sin(theta), "w--", lw=0.8)


def ring_figure(
    source: np.ndarray | torch.Tensor, cfg: LensSimConfig | None = None, *, seed: int = 0,
    title: str | None = None,
) -> Figure:
    """Source flux | lensed flux (no PSF, no noise) with the Einstein radius dashed."""
    cfg = _clean(cfg or LensSimConfig())
    src = _as_source(source)
    lensed = _render(src, cfg, seed, lensed=True)
    fig = Figure(figsize=(9, 4), layout="constrained")
    ax = fig.subplots(1, 2)
    _show(fig, ax[0], src[0, 0].numpy(), cfg.source_half_width, "source flux", _FLUX, "flux")
    _show(fig, ax[1], lensed.images[0, 0].cpu().numpy(), cfg.half_width,
          f"lensed flux ({cfg.main_profile}, θ_E = {lensed.params['theta_E'].iloc[0]:.3g})", _FLUX, "flux")
    _einstein_circle(ax[1], lensed.params.iloc[0])
    if title:
        fig.suptitle(title)
    return fig


def horseshoe_figure(
    source: np.ndarray | torch.Tensor, cfg: LensSimConfig | None = None, *, seed: int = 0,
    title: str | None = None,
) -> Figure:
    """Source velocity | lensed velocity, masked where the lensed flux < threshold (grey)."""
    cfg = _clean(cfg or LensSimConfig())
    src = _as_source(source)
    lensed = _render(src, cfg, seed, lensed=True)
    fig = Figure(figsize=(9, 4), layout="constrained")
    ax = fig.subplots(1, 2)
    _show(fig, ax[0], src[0, 1].numpy(), cfg.source_half_width, "source velocity", _vel_style(), "velocity")
    _show(fig, ax[1], _masked_vel(lensed), cfg.half_width,
          f"lensed velocity (flux ≥ {cfg.flux_mask_threshold:g})", _vel_style(), "velocity")
    _einstein_circle(ax[1], lensed.params.iloc[0])
    if title:
        fig.suptitle(title)
    return fig


def debug_triplet_figure(
    source: np.ndarray | torch.Tensor, cfg: LensSimConfig | None = None, *, seed: int = 0,
    title: str | None = None,
) -> Figure:
    """Rows flux / velocity; columns: smooth (clean), + subhalo (clean), + subhalo with ``cfg``'s
    PSF and noise, and clean (subhalo − smooth). All columns share one macro lens and one
    subhalo position (marked ×)."""
    cfg = cfg or LensSimConfig()
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
        _show(fig, ax[0, j], b.images[0, 0].cpu().numpy(), hw, f"{name}: flux", _FLUX, "flux")
        _show(fig, ax[1, j], _masked_vel(b), hw, f"{name}: velocity", _vel_style(), "velocity")
    dflux = (sub.images[0, 0] - smooth.images[0, 0]).cpu().numpy()
    both = (sub.vel_mask[0] & smooth.vel_mask[0]).cpu().numpy()
    dvel = np.where(both, (sub.images[0, 1] - smooth.images[0, 1]).cpu().numpy(), np.nan)
    lim_f = max(float(np.abs(dflux).max()), 1e-6)
    lim_v = max(float(np.nanmax(np.abs(dvel))) if np.isfinite(dvel).any() else 0.0, 1e-6)
    _show(fig, ax[0, 3], dflux, hw, "subhalo − smooth: flux", _vel_style(lim_f), "Δ flux")
    _show(fig, ax[1, 3], dvel, hw, "subhalo − smooth: velocity", _vel_style(lim_v), "Δ velocity")
    for a in ax.flat:
        a.plot([p["sub_x"]], [p["sub_y"]], "kx", ms=7, mew=1.5)
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
    ax.axhline(0.5, color="0.5", ls=":", lw=1)
    ax.set_xlabel(x)
    ax.set_ylabel(metric)
    ax.set_ylim(0.0, 1.05)
    ax.legend(fontsize=8)
    if title:
        ax.set_title(title)
    return fig
