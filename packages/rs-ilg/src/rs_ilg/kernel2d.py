"""2D non-separable ILG kernel on a periodic grid (spec §6.2).

Conventions: arrays are laid out (y, x); every length is in grid units (pixel spacing 1) and the
recognition length λ_rec is 1 pixel. Σ is the dimensionless baryon surface-density proxy (any positive
normalisation; only ratios matter).

Steps
1. ∇²Φ = Σ by FFT (zero mean), ā = -∇Φ by periodic central differences, g = |ā|.
2. Structure tensor of s = ∇ ln max(Σ, 1e-12): S_ij = G_σ * (s_i s_j) with a periodic Gaussian G_σ,
   T = S_xx + S_yy.
3. l² = 1/(1+T), D_iso = 1/(1+T), anisotropic diagonal D_x = 1/(1+S_xx), D_y = 1/(1+S_yy) (S_xy ignored);
   every denominator floored at 1e-6. c_i = l² D_i (anisotropic), c = l² D_iso (isotropic), or c = l²
   with D → identity (ablation).
4. A u = u - ∇·(c ∇u); f = max((ĝ + ε)/max(1, ε), 1e-12)^-α with ĝ = g/g_max; solve A φ = f, A y₁ = 1.
5. K = 1 + C_lag (φ - y₁ f_ext).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .gridsolve import KernelSolve, SolverSettings, rhs_from_acceleration, solve_kernel
from .solvers import DiffusionOperator, central_gradient, fft_poisson, finite_field, periodic_gaussian_filter

__all__ = ["Kernel2DResult", "structure_tensor", "diffusion_coeffs_2d", "ilg_kernel_2d"]

_DENOM_FLOOR = 1e-6


@dataclass(frozen=True)
class Kernel2DResult:
    """Output of :func:`ilg_kernel_2d` (all arrays (ny, nx), grid units).

    K: the kernel; f: right-hand side; f_ext: its external-field constant; phi: Poisson potential Φ;
    a_x, a_y: baryonic acceleration -∇Φ (the "effective acceleration" of spec §6 is ``K * a_x``,
    ``K * a_y``; the runner does not use it); coeff_y, coeff_x: diffusion coefficients per axis;
    solve: CG diagnostics.
    """

    K: np.ndarray
    f: np.ndarray
    f_ext: float
    phi: np.ndarray
    a_x: np.ndarray
    a_y: np.ndarray
    coeff_y: np.ndarray
    coeff_x: np.ndarray
    solve: KernelSolve


def structure_tensor(field: np.ndarray, smooth_sigma: float | tuple[float, ...],
                     spacing: tuple[float, ...] | None = None) -> list[np.ndarray]:
    """Smoothed diagonal of the structure tensor of ``ln max(field, 1e-12)``.

    s = ∇ ln max(field, 1e-12) by periodic central differences with ``spacing`` (unit spacing by
    default), then S_ii = G_σ * s_i² with the periodic Gaussian of width ``smooth_sigma`` pixels/voxels.
    Returns [S_00, S_11, ...] in array-axis order.
    """
    spacing = spacing or (1.0,) * field.ndim
    s = central_gradient(np.log(np.maximum(field, 1e-12)), spacing)
    return [periodic_gaussian_filter(si * si, smooth_sigma) for si in s]


def diffusion_coeffs_2d(s_yy: np.ndarray, s_xx: np.ndarray, *, anisotropic: bool,
                        d_identity: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Coefficients (c_y, c_x) from the structure-tensor diagonal (grid units, λ_rec = 1 pixel).

    l² = 1/max(1+T, 1e-6); anisotropic: c_i = l²/max(1+S_ii, 1e-6); isotropic: c = l²/max(1+T, 1e-6);
    ``d_identity`` (the D → I ablation): c = l² on every axis.
    """
    trace = s_xx + s_yy
    l2 = 1.0 / np.maximum(1.0 + trace, _DENOM_FLOOR)
    if d_identity:
        return l2, l2
    if anisotropic:
        return l2 / np.maximum(1.0 + s_yy, _DENOM_FLOOR), l2 / np.maximum(1.0 + s_xx, _DENOM_FLOOR)
    c = l2 / np.maximum(1.0 + trace, _DENOM_FLOOR)
    return c, c


def ilg_kernel_2d(
    sigma: np.ndarray,
    *,
    anisotropic: bool = True,
    smooth_sigma_px: float = 2.0,
    gext: float = 0.0,
    d_identity: bool = False,
    solver: SolverSettings | None = None,
) -> Kernel2DResult:
    """The 2D ILG kernel K for a surface-density proxy ``sigma`` (shape (ny, nx), grid units).

    gext: external field as a dimensionless ratio ε to the grid's peak |ā| (see
    :func:`rs_ilg.gridsolve.rhs_from_acceleration`); 0 gives f_ext = 1.
    solver: default :meth:`SolverSettings.original_2d`.
    """
    sigma = finite_field(sigma, 2, "ilg_kernel_2d (sigma)")
    solver = solver or SolverSettings.original_2d()
    unit = (1.0, 1.0)
    phi = fft_poisson(sigma, unit)
    gy, gx = central_gradient(phi, unit)
    a_y, a_x = -gy, -gx
    g = np.hypot(a_x, a_y)
    s_yy, s_xx = structure_tensor(sigma, smooth_sigma_px)
    c_y, c_x = diffusion_coeffs_2d(s_yy, s_xx, anisotropic=anisotropic, d_identity=d_identity)
    op = DiffusionOperator([c_y, c_x], unit)
    f, f_ext = rhs_from_acceleration(g, gext)
    sol = solve_kernel(op, f, f_ext, solver)
    return Kernel2DResult(K=sol.K, f=f, f_ext=float(f_ext), phi=phi, a_x=a_x, a_y=a_y,
                          coeff_y=c_y, coeff_x=c_x, solve=sol)
