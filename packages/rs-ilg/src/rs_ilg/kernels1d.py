"""1D ILG kernels, the MOND interpolation and the building blocks they share (spec section 3, 5).

Conventions: r in kpc, velocities in km/s; T_dyn in seconds and g_bar in m/s^2 (SI, with
1 kpc = 3.086e19 m). The kernels return the dimensionless weight w with v_model = sqrt(w) v_bar.
"""

from __future__ import annotations

from typing import Literal

import numpy as np

from .constants import A0_SI, ALPHA, C_LAG, KMS, KPC_M, N_PROFILE_A, N_PROFILE_P, N_PROFILE_R0_KPC, XI_BINS

MondNu = Literal["simple", "standard", "fb"]


def n_raw(r_kpc: np.ndarray, A: float = N_PROFILE_A, r0_kpc: float = N_PROFILE_R0_KPC, p: float = N_PROFILE_P) -> np.ndarray:
    """Unnormalised radial profile n_raw(r) = 1 + A [1 - exp(-(r/r0)^p)]."""
    r = np.asarray(r_kpc, dtype=float)
    return 1.0 + A * (1.0 - np.exp(-((r / r0_kpc) ** p)))


def xi_thresholds(values: np.ndarray, bins: int = XI_BINS) -> np.ndarray:
    """The B-1 inner quantiles (linear interpolation) of a population scalar; NaN replaced by the median."""
    v = np.asarray(values, dtype=float)
    if np.any(~np.isfinite(v)):
        v = np.where(np.isfinite(v), v, np.nanmedian(v))
    return np.quantile(v, np.arange(1, bins) / bins)


def xi_bin(value: float | np.ndarray, thresholds: np.ndarray) -> np.ndarray:
    """Bin index b = number of thresholds <= value (0..B-1)."""
    v = np.asarray(value, dtype=float)
    return np.sum(np.asarray(thresholds)[None, :] <= v.reshape(-1, 1), axis=1).reshape(v.shape)


def xi_from_bin(b: int | np.ndarray, bins: int = XI_BINS) -> np.ndarray:
    """Threads factor xi = 1 + C_lag sqrt((b + 1/2)/B)."""
    return 1.0 + C_LAG * np.sqrt((np.asarray(b, dtype=float) + 0.5) / bins)


def zeta_thickness(r_kpc: np.ndarray, R_d_kpc: float, hz_over_rd: float = 0.25) -> np.ndarray:
    """Benchmark zeta: clip([1 + (h_z/max(r, 0.1 R_d))^2]^-1/2, 0.8, 1.2), h_z = 0.25 R_d (<= 1)."""
    hz = hz_over_rd * R_d_kpc
    reff = np.maximum(np.asarray(r_kpc, dtype=float), 0.1 * R_d_kpc)
    return np.clip(1.0 / np.sqrt(1.0 + (hz / reff) ** 2), 0.8, 1.2)


def zeta_pure_global(r_kpc: np.ndarray, R_d_kpc: float, hz_over_rd: float = 0.25) -> np.ndarray:
    """Pure-global zeta: clip(1 + 0.5 h_z/(r + 0.1 R_d), 0.8, 1.2), h_z = 0.25 R_d (>= 1)."""
    hz = hz_over_rd * R_d_kpc
    return np.clip(1.0 + 0.5 * hz / (np.asarray(r_kpc, dtype=float) + 0.1 * R_d_kpc), 0.8, 1.2)


def t_dyn_s(r_kpc: np.ndarray, v_bar_kms: np.ndarray) -> np.ndarray:
    """Dynamical time T_dyn = 2 pi r / v_bar [s] (inf where v_bar = 0)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return 2.0 * np.pi * np.asarray(r_kpc) * KPC_M / (np.asarray(v_bar_kms) * KMS)


def g_bar_si(r_kpc: np.ndarray, v_bar_kms: np.ndarray) -> np.ndarray:
    """Baryonic acceleration g_bar = v_bar^2 / r [m/s^2]."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return (np.asarray(v_bar_kms) * KMS) ** 2 / (np.asarray(r_kpc) * KPC_M)


def w_time(t_dyn: np.ndarray, t_ref: float, alpha: float = ALPHA) -> np.ndarray:
    """Time kernel w_t = 1 + C_lag [(T_dyn/T_ref)^alpha - 1]."""
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        return 1.0 + C_LAG * ((np.asarray(t_dyn) / t_ref) ** alpha - 1.0)


def w_accel(g_bar: np.ndarray, gext_ratio: float = 0.0, alpha: float = ALPHA, a0: float = A0_SI) -> np.ndarray:
    """Acceleration kernel w_g = 1 + C_lag [((g+g_ext)/a0)^-alpha - (1 + g_ext/a0)^-alpha], g_ext = ratio a0."""
    gext = gext_ratio * a0
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        return 1.0 + C_LAG * (((np.asarray(g_bar) + gext) / a0) ** -alpha - (1.0 + gext / a0) ** -alpha)


def blend_bracket(t_dyn: np.ndarray, t_ref: float, g_bar: np.ndarray, gext_ratio: float = 0.0,
                  alpha: float = ALPHA, a0: float = A0_SI) -> np.ndarray:  # fmt: skip
    """q = (T_dyn/T_ref)^alpha ((g+g_ext)/a0)^-alpha - 1, the bracket of the blend kernel."""
    gext = gext_ratio * a0
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        return (np.asarray(t_dyn) / t_ref) ** alpha * ((np.asarray(g_bar) + gext) / a0) ** -alpha - 1.0


def w_blend(t_dyn: np.ndarray, t_ref: float, g_bar: np.ndarray, gext_ratio: float = 0.0, alpha: float = ALPHA) -> np.ndarray:
    """Blend kernel 1 + C_lag q (see :func:`blend_bracket`)."""
    return 1.0 + C_LAG * blend_bracket(t_dyn, t_ref, g_bar, gext_ratio, alpha)


def graph_laplacian(r_kpc: np.ndarray, sigma_kpc: float, normalized: bool = False) -> np.ndarray:
    """Laplacian of the fully connected graph on the radii, W_ij = exp(-(r_i-r_j)^2/(2 sigma^2)), W_ii = 0.

    ``normalized``: I - D^-1/2 W D^-1/2; else D - W.
    """
    r = np.asarray(r_kpc, dtype=float)
    W = np.exp(-((r[:, None] - r[None, :]) ** 2) / (2.0 * sigma_kpc**2))
    np.fill_diagonal(W, 0.0)
    d = W.sum(axis=1)
    if normalized:
        with np.errstate(divide="ignore"):
            dinv = np.where(d > 0, 1.0 / np.sqrt(d), 0.0)
        return np.eye(r.size) - dinv[:, None] * W * dinv[None, :]
    return np.diag(d) - W


def w_graph(r_kpc: np.ndarray, q: np.ndarray, tau: float = 1.0, sigma_kpc: float = 2.0, normalized: bool = False,
            alpha: float = ALPHA) -> np.ndarray:  # fmt: skip
    """Graph kernel w = 1 + C_lag (I + tau L)^-alpha q, the power via symmetric eigendecomposition
    (eigenvalues floored at 1e-12)."""
    L = graph_laplacian(r_kpc, sigma_kpc, normalized)
    M = np.eye(L.shape[0]) + tau * L
    lam, V = np.linalg.eigh(M)
    lam = np.maximum(lam, 1e-12)
    P = (V * lam**-alpha) @ V.T
    return 1.0 + C_LAG * (P @ np.asarray(q, dtype=float))


def mond_nu(y: np.ndarray, variant: MondNu = "simple", distinct: bool = False) -> np.ndarray:
    """MOND interpolation nu(y), y = g_bar/a0 floored at 1e-300 (finite for every y >= 0; ~y^-1/2 as y -> 0).

    ``distinct=False`` (original): every variant is the simple nu = 1/2 + sqrt(1/4 + 1/y).
    ``distinct=True``: "standard" is nu = sqrt(1/2 + sqrt(1/4 + 1/y^2)) (mu = x/sqrt(1+x^2)) and "fb" is the
    simple nu (Famaey & Binney 2005 use the simple mu).
    """
    yy = np.maximum(np.asarray(y, dtype=float), 1e-300)
    if distinct and variant == "standard":
        return np.sqrt(0.5 + np.hypot(0.5, 1.0 / yy))  # sqrt(1/4 + y^-2) without overflow at y -> 0
    return 0.5 + np.sqrt(0.25 + 1.0 / yy)


def mond_velocity(r_kpc: np.ndarray, v_bar_kms: np.ndarray, variant: MondNu = "simple", distinct: bool = False,
                  a0: float = A0_SI) -> np.ndarray:  # fmt: skip
    """v_MOND = sqrt(nu(g_bar/a0)) v_bar [km/s] (Milgrom 1983; nu as in Famaey & McGaugh 2012, eq. 49-51).

    At the limit v_bar = 0 (g_bar = 0, e.g. a signed baryonic V^2 <= 0 floored at 0) v_MOND = 0, its limit
    (deep MOND: v^4 = G M a0 -> 0); no point becomes NaN.
    """
    vb = np.asarray(v_bar_kms, dtype=float)
    y = g_bar_si(r_kpc, vb) / a0
    y = np.where(np.isfinite(y), y, 1e-300)
    return np.where(vb == 0.0, 0.0, np.sqrt(mond_nu(y, variant, distinct)) * vb)
