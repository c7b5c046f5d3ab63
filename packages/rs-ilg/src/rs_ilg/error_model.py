"""Shared error model and inner-beam mask (spec section 4).

Model A (1D benchmark, MOND benchmark, 2D/3D runners, trends)::

    sigma_eff^2 = errV^2 + sigma0^2 + (f v)^2 + sigma_beam^2 + sigma_asym^2 + sigma_turb^2   (floored 1e-12)
    sigma_beam = 0.3 b v/(r + b);  sigma_asym = 0.10 v (dwarf) or 0.05 v;
    sigma_turb = 0.07 v (1 - exp(-r/R_d))^1.3;  v = Vobs, sigma0 = 10 km/s, f = 0.05

Model B (pure-global) has the same terms with sigma_asym capped at 0.15 v and sigma_turb at 0.20 v.
The mask keeps points with r >= b, b = 0.3 R_d by default. Velocities in km/s, radii in kpc.

The dwarf flag: ``dwarf_rule="outer_vobs"`` (model A of the original: median V_obs of the last 3
evaluated points < 80 km/s, max when fewer than 3) or ``"sigma0_median"`` (Sigma_0 below the master-table
median: the model-B flag, which uses no kinematics).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal

import numpy as np

from .constants import (
    ALPHA_BEAM, ASYM_CAP_B, ASYM_DWARF, ASYM_SPIRAL, DWARF_VOBS_KMS, F_FRAC, K_TURB, MASK_FALLBACK_KPC,
    MASK_RD_FRACTION, P_TURB, SIGMA0_KMS, TURB_CAP_B,
)  # fmt: skip
from .master import Galaxy
from .modes import ModeConfig

ErrorModel = Literal["A", "B"]


def mask_radius(
    galaxy: Galaxy,
    mode: ModeConfig | None = None,
    *,
    beam_kpc: float | None = None,
    mask_mode: Literal["beam", "RdFWHM"] = "beam",
) -> float:
    """Inner-mask radius b [kpc].

    ``mask_mode="beam"``: b = ``beam_kpc`` when given (``--beam_csv``), else 0.3 R_d (R_d of the master
    table), else 0.6 kpc when R_d <= 0. ``"RdFWHM"``: b = max(2.2 R_d, 1.5 FWHM) with FWHM = ``beam_kpc``
    (0 when absent). ``mode`` is accepted for interface symmetry; b does not depend on it beyond R_d.
    """
    rd = galaxy.R_d_kpc
    if mask_mode == "RdFWHM":
        return max(2.2 * rd, 1.5 * (beam_kpc or 0.0))
    if beam_kpc is not None and np.isfinite(beam_kpc) and beam_kpc > 0:
        return float(beam_kpc)
    return MASK_RD_FRACTION * rd if rd > 0 else MASK_FALLBACK_KPC


def inner_mask(galaxy: Galaxy, mode: ModeConfig | None = None, b_kpc: float | None = None,
               r_kpc: np.ndarray | None = None) -> np.ndarray:  # fmt: skip
    """Boolean array, True where r >= b (``r_kpc`` defaults to the galaxy's radii; ``b_kpc`` to
    :func:`mask_radius`)."""
    b = mask_radius(galaxy, mode) if b_kpc is None else b_kpc
    r = galaxy.r_kpc if r_kpc is None else np.asarray(r_kpc, dtype=float)
    return r >= b


def outer_vobs_dwarf(v_obs_evaluated: np.ndarray, threshold_kms: float = DWARF_VOBS_KMS) -> bool:
    """Model-A dwarf flag: median of the last 3 evaluated V_obs (max if fewer than 3) below 80 km/s.

    An empty array gives False.
    """
    v = np.asarray(v_obs_evaluated, dtype=float)
    if v.size == 0:
        return False
    ref = float(np.median(v[-3:])) if v.size >= 3 else float(np.max(v))
    return ref < threshold_kms


def dwarf_flag(galaxy: Galaxy, mode: ModeConfig, v_obs_evaluated: np.ndarray) -> bool:
    """Dwarf flag under ``mode.dwarf_rule`` (see module docstring)."""
    if mode.dwarf_rule == "sigma0_median":
        return bool(galaxy.dwarf_sigma0)
    return outer_vobs_dwarf(v_obs_evaluated)


def sigma_eff(
    r_kpc: np.ndarray,
    v_obs: np.ndarray,
    e_v: np.ndarray,
    *,
    b_kpc: float,
    R_d_kpc: float,
    dwarf: bool,
    model: ErrorModel = "A",
) -> np.ndarray:
    """Effective velocity error [km/s] of error model A or B at each point (module docstring)."""
    r = np.asarray(r_kpc, dtype=float)
    v = np.asarray(v_obs, dtype=float)
    ev = np.asarray(e_v, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        beam = ALPHA_BEAM * b_kpc * v / (r + b_kpc)
    asym = (ASYM_DWARF if dwarf else ASYM_SPIRAL) * v
    rd = R_d_kpc if R_d_kpc > 0 else np.nan
    turb = K_TURB * v * (1.0 - np.exp(-r / rd)) ** P_TURB
    if model == "B":
        asym = np.minimum(asym, ASYM_CAP_B * v)
        turb = np.minimum(turb, TURB_CAP_B * v)
    s2 = ev**2 + SIGMA0_KMS**2 + (F_FRAC * v) ** 2 + beam**2 + asym**2 + turb**2
    return np.sqrt(np.maximum(s2, 1e-12))


def sigma_total(
    galaxy: Galaxy,
    mode: ModeConfig,
    *,
    evaluated: np.ndarray | None = None,
    b_kpc: float | None = None,
    model: ErrorModel = "A",
    dwarf: bool | None = None,
    const_sigma_kms: float | None = None,
) -> np.ndarray:
    """sigma_eff [km/s] at every point of ``galaxy``.

    ``evaluated`` (bool array) marks the points that are scored; it sets the outer-V_obs dwarf flag and
    defaults to :func:`inner_mask`. ``dwarf`` overrides the flag. ``const_sigma_kms`` returns that constant
    everywhere (the const-sigma ablation, which also drops errV).
    """
    b = mask_radius(galaxy, mode) if b_kpc is None else b_kpc
    if const_sigma_kms is not None:
        return np.full(galaxy.n_points, float(const_sigma_kms))
    ev = inner_mask(galaxy, mode, b) if evaluated is None else np.asarray(evaluated, dtype=bool)
    if dwarf is None:
        dwarf = dwarf_flag(galaxy, mode, galaxy.v_obs[ev])
    return sigma_eff(galaxy.r_kpc, galaxy.v_obs, galaxy.e_v, b_kpc=b, R_d_kpc=galaxy.R_d_kpc, dwarf=dwarf,
                     model=model)  # fmt: skip


def score_same_points(v_obs: np.ndarray, sigma: np.ndarray, evaluated: np.ndarray,
                      models: Mapping[str, np.ndarray]) -> tuple[int, dict[str, float]]:  # fmt: skip
    """N and chi2/N = mean(((V_obs - v)/sigma)^2) of every model on exactly the ``evaluated`` points.

    All arrays have one entry per point (km/s; ``evaluated`` bool). A model that is not finite at an
    evaluated point gets chi2/N = NaN rather than a smaller N, so no point is ever dropped silently;
    with N = 0 every chi2/N is NaN. Returns ``(N, {name: chi2/N})``.
    """
    ok = np.asarray(evaluated, dtype=bool)
    n = int(np.count_nonzero(ok))
    vo, sig = np.asarray(v_obs, dtype=float)[ok], np.asarray(sigma, dtype=float)[ok]
    out = {}
    for name, v in models.items():
        z = (vo - np.asarray(v, dtype=float)[ok]) / sig
        out[name] = float(np.sum(z * z) / n) if n else float("nan")
    return n, out
