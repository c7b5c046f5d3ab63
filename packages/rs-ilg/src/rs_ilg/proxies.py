"""Baryon proxies for the grid kernels: Σ_b in 2D (spec §6.1) and ρ_b in 3D (spec §7.1).

The proxies are built from global quantities only (R_d and component ratios of the rotation-curve
mass model), never from V_obs. They are dimensionless, normalised to a peak of 1.

Units: R_d, box sizes, spacings and coordinates in kpc. 2D arrays are laid out (y, x), 3D arrays
(y, x, z); grids are cell-centred, from -L + d/2 to L - d/2 along each axis.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .modes import ModeConfig

__all__ = [
    "ComponentWeights",
    "component_weights",
    "baryon_v2_terms",
    "cell_centres",
    "sigma_proxy_2d",
    "rho_proxy_3d",
    "Grid3D",
]

_FRAC_CAP = 0.8


def baryon_v2_terms(v_gas: np.ndarray, v_disk: np.ndarray, v_bul: np.ndarray, *, ml_disk: float,
                    mode: ModeConfig) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-component contributions to v_bar² [km²/s²]: (gas, Υ_disk·disk, bulge).

    ``mode.signed_v2`` False squares every velocity (the original; a negative SPARC V_gas then adds
    mass), True uses V|V| so a negative V_gas lowers v_bar² as SPARC intends. No bulge M/L is applied.
    """
    if mode.signed_v2:
        sq = lambda v: v * np.abs(v)  # noqa: E731
    else:
        sq = np.square
    return sq(np.asarray(v_gas, float)), ml_disk * sq(np.asarray(v_disk, float)), sq(np.asarray(v_bul, float))


@dataclass(frozen=True)
class ComponentWeights:
    """Proxy weights (dimensionless): w_disk + w_gas + w_bul ≤ 1, w_gas, w_bul ∈ [0, 0.8]."""

    disk: float
    gas: float
    bulge: float


def component_weights(v_gas: np.ndarray, v_disk: np.ndarray, v_bul: np.ndarray, *, ml_disk: float,
                      mode: ModeConfig) -> ComponentWeights:
    """Component weights of spec §6.1 item 2 (shared by 2D, 3D and the feature builder).

    gas_frac = median over points with v_bar > 0 of (gas v²)/v_bar², bulge_frac likewise with the bulge;
    each clipped to [0, 0.8]. w_disk = clip(1 - w_gas - w_bul, 0, 1). These are medians of velocity-squared
    ratios, not mass fractions (spec §12.17). With no point having v_bar > 0, both fractions are 0.
    """
    v2g, v2d, v2b = baryon_v2_terms(v_gas, v_disk, v_bul, ml_disk=ml_disk, mode=mode)
    v2bar = np.maximum(v2g + v2d + v2b, 0.0)
    ok = v2bar > 0
    if not ok.any():
        gas = bul = 0.0
    else:
        gas = float(np.median(v2g[ok] / v2bar[ok]))
        bul = float(np.median(v2b[ok] / v2bar[ok]))
    gas = float(np.clip(gas, 0.0, _FRAC_CAP))
    bul = float(np.clip(bul, 0.0, _FRAC_CAP))
    disk = float(np.clip(1.0 - gas - bul, 0.0, 1.0))
    return ComponentWeights(disk=disk, gas=gas, bulge=bul)


def cell_centres(n: int, length: float) -> np.ndarray:
    """Cell-centre coordinates of ``n`` cells spanning [-length/2, length/2]."""
    d = length / n
    return -length / 2.0 + d / 2.0 + d * np.arange(n)


def _check_rd(rd_kpc: float) -> None:
    if not (np.isfinite(rd_kpc) and rd_kpc > 0):
        raise ValueError(f"R_d must be a positive finite number of kpc, got {rd_kpc!r}")


def bulge_shape(profile: np.ndarray, mode: ModeConfig) -> np.ndarray:
    """A bulge profile as the proxies add it: unnormalised (``mode.bulge_3d == "unnormalised_hernquist"``, the
    original: the bulge weight then multiplies values up to 1e6) or scaled to a unit peak (``"unit_peak"``)."""
    if mode.bulge_3d == "unit_peak":
        return profile / profile.max()
    if mode.bulge_3d != "unnormalised_hernquist":
        raise ValueError(f"unknown bulge_3d {mode.bulge_3d!r}")
    return profile


def sigma_proxy_2d(rd_kpc: float, weights: ComponentWeights, *, nx: int = 128,
                   box_factor: float = 8.0) -> tuple[np.ndarray, float]:
    """Σ_b proxy on an nx × nx grid of half-size L = box_factor R_d (spec §6.1 item 3).

    Σ = w_disk e^{-R/R_d} + w_gas e^{-R/(1.7 R_d)} + w_bul e^{-R²/(0.2 R_d)²}, divided by its maximum.
    Returns (Σ with shape (nx, nx), dx in kpc).
    """
    _check_rd(rd_kpc)
    if nx < 4:
        raise ValueError(f"nx must be >= 4, got {nx}")
    length = 2.0 * box_factor * rd_kpc
    x = cell_centres(nx, length)
    rr = np.hypot(x[:, None], x[None, :])
    sig = (weights.disk * np.exp(-rr / rd_kpc) + weights.gas * np.exp(-rr / (1.7 * rd_kpc))
           + weights.bulge * np.exp(-((rr / (0.2 * rd_kpc)) ** 2)))
    peak = sig.max()
    if not peak > 0:
        raise ValueError("sigma_proxy_2d: all component weights are zero")
    return sig / peak, length / nx


@dataclass(frozen=True)
class Grid3D:
    """A 3D proxy box: ``rho`` laid out (y, x, z), spacings (dy, dx, dz) and the z scale height [kpc]."""

    rho: np.ndarray
    spacing: tuple[float, float, float]
    h_z_kpc: float

    @property
    def dx(self) -> float:
        return self.spacing[1]


def rho_proxy_3d(rd_kpc: float, weights: ComponentWeights, *, nx: int = 32, ny: int = 32, nz: int = 32,
                 box_factor_xy: float = 8.0, box_factor_z: float = 2.0, mode: ModeConfig) -> Grid3D:
    """ρ_b proxy in a periodic box (spec §7.1).

    h_z = a_b = max(0.2 R_d, 0.05 kpc); lx = ly = 2 box_factor_xy R_d, lz = 2 box_factor_z h_z.
    ρ = w_disk e^{-R/R_d} sech²(z/h_z) + w_gas e^{-R/(1.7 R_d)} sech²(z/(1.5 h_z)) + w_bul B(r),
    divided by its maximum. B(r) = 1/max(r (r + a_b)³, 1e-6) [kpc⁻⁴] when ``mode.bulge_3d`` is
    ``"unnormalised_hernquist"`` (the original: any bulge dominates after the divide-by-max, spec §12.17);
    with ``"unit_peak"`` B is divided by its grid maximum first, so the three components are on one scale.
    """
    _check_rd(rd_kpc)
    for name, n in (("nx", nx), ("ny", ny), ("nz", nz)):
        if n < 4:
            raise ValueError(f"{name} must be >= 4, got {n}")
    h_z = max(0.2 * rd_kpc, 0.05)
    a_b = h_z
    lx = ly = 2.0 * box_factor_xy * rd_kpc
    lz = 2.0 * box_factor_z * h_z
    x = cell_centres(nx, lx)
    y = cell_centres(ny, ly)
    z = cell_centres(nz, lz)
    rr = np.hypot(y[:, None], x[None, :])[:, :, None]
    zz = z[None, None, :]
    rho = (weights.disk * np.exp(-rr / rd_kpc) / np.cosh(zz / h_z) ** 2
           + weights.gas * np.exp(-rr / (1.7 * rd_kpc)) / np.cosh(zz / (1.5 * h_z)) ** 2)
    if weights.bulge > 0:
        r3 = np.sqrt(rr**2 + zz**2)
        rho = rho + weights.bulge * bulge_shape(1.0 / np.maximum(r3 * (r3 + a_b) ** 3, 1e-6), mode)
    peak = rho.max()
    if not peak > 0:
        raise ValueError("rho_proxy_3d: all component weights are zero")
    return Grid3D(rho=rho / peak, spacing=(ly / ny, lx / nx, lz / nz), h_z_kpc=h_z)
