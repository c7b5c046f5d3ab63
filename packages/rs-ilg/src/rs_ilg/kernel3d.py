"""3D non-separable ILG kernel on a periodic box (spec §7.2, §12.12).

Arrays are laid out (y, x, z); ``spacing`` = (dy, dx, dz) in kpc. ρ is the dimensionless density proxy.

Steps
1. ∇²Φ = ρ by FFT with physical wavenumbers (zero mean); ā = -∇Φ by periodic central differences
   with the physical spacings; g = |ā|.
2. Structure tensor diagonal S_ii = G * s_i², s = ∇ ln max(ρ, 1e-12); T = Σ S_ii.
3. Coefficients, in one of two unit systems (``units``):
   - ``"voxel"`` (the original, compat): s with unit voxel spacing, G a periodic Gaussian of
     ``smooth_sigma_vox`` voxels, l² = 1/(1+T) (so l ≤ 1 "voxel"), c_i = l²/(1+S_ii) (anisotropic) or
     c = l²/(1+T) (isotropic); these dimensionless c are then applied with kpc spacings, so the vertical
     coupling is (dx/dz)² ≈ 400 times the horizontal one (spec §12.12).
   - ``"physical"`` (corrected): s in kpc⁻¹ (physical spacings), G of width ``smooth_sigma_kpc`` per axis,
     dimensionless Ŝ_ii = λ² S_ii with λ = ``lambda_rec_kpc``, T̂ = Σ Ŝ_ii, l² = λ²/(1+T̂) [kpc²],
     c_i = l²/(1+Ŝ_ii) or l²/(1+T̂); applied with kpc spacings: the same physical operator at any grid.
   D → I ablation: c = l² on every axis. A precomputed coefficient field (``coeff_override``, kpc² or
   voxel units to match) replaces step 2–3 entirely (isotropic operator).
4. A u = u - Σ_axes ∂(c ∂u); f = max((ĝ + ε)/max(1, ε), 1e-12)^-α; solve A φ = f, A y₁ = 1;
   K = 1 + C_lag (φ - y₁ f_ext).

:func:`ilg_kernel_3d_batch` runs several boxes of the same shape together (one CG over a stacked
batch, per-item step sizes) — the fast path for sweeps over galaxies.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Sequence

import numpy as np

from .gridsolve import KernelSolve, SolverSettings, rhs_from_acceleration, solve_kernel
from .solvers import DiffusionOperator, central_gradient, fft_poisson, finite_field, periodic_gaussian_filter

__all__ = ["Kernel3DResult", "CoeffUnits", "diffusion_coeffs_3d", "ilg_kernel_3d", "ilg_kernel_3d_batch",
           "acceleration_field"]

CoeffUnits = Literal["voxel", "physical"]


@dataclass(frozen=True)
class Kernel3DResult:
    """Output of the 3D kernel: K, Φ, ā components (kpc-spacing derivatives), coefficients, f, CG info.

    ``solve`` holds both CG results for one-at-a-time solves (None for batched solves and K = 1);
    ``iterations`` / ``rel_residual`` are the φ solve's in every case (None for K = 1).
    """

    K: np.ndarray
    phi: np.ndarray
    a: tuple[np.ndarray, np.ndarray, np.ndarray]
    coeffs: tuple[np.ndarray, np.ndarray, np.ndarray]
    f: np.ndarray
    f_ext: float
    solve: KernelSolve | None
    iterations: int | None = None
    rel_residual: float | None = None


def acceleration_field(rho: np.ndarray, spacing: tuple[float, float, float]) -> tuple[np.ndarray, list[np.ndarray]]:
    """Φ of ∇²Φ = ρ (periodic, zero mean) and ā = -∇Φ (central differences), physical spacings."""
    phi = fft_poisson(rho, spacing)
    return phi, [-gi for gi in central_gradient(phi, spacing)]


def diffusion_coeffs_3d(
    rho: np.ndarray,
    spacing: tuple[float, float, float],
    *,
    anisotropic: bool,
    d_identity: bool = False,
    units: CoeffUnits = "voxel",
    smooth_sigma_vox: float = 1.0,
    lambda_rec_kpc: float = 0.5,
    smooth_sigma_kpc: float | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Diffusion coefficients (c_y, c_x, c_z) of spec §7.2 item 2, in ``units`` (see module doc).

    Voxel units: dimensionless. Physical units: kpc², with λ = ``lambda_rec_kpc`` and the structure
    tensor smoothed over ``smooth_sigma_kpc`` (default λ) on each axis (floored at 0.05 voxel).
    """
    if units == "voxel":
        grad_spacing = (1.0, 1.0, 1.0)
        sig = smooth_sigma_vox
        lam2 = 1.0
    elif units == "physical":
        if not lambda_rec_kpc > 0:
            raise ValueError(f"lambda_rec_kpc must be > 0, got {lambda_rec_kpc!r}")
        grad_spacing = tuple(spacing)
        width = lambda_rec_kpc if smooth_sigma_kpc is None else smooth_sigma_kpc
        sig = tuple(max(width / d, 0.05) for d in spacing)
        lam2 = lambda_rec_kpc**2
    else:
        raise ValueError(f"units must be 'voxel' or 'physical', got {units!r}")
    s = central_gradient(np.log(np.maximum(rho, 1e-12)), grad_spacing)
    S = [lam2 * periodic_gaussian_filter(si * si, sig) for si in s]
    trace = S[0] + S[1] + S[2]
    l2 = lam2 / (1.0 + trace)
    if d_identity:
        return l2, l2, l2
    if anisotropic:
        return tuple(l2 / (1.0 + Si) for Si in S)  # type: ignore[return-value]
    c = l2 / (1.0 + trace)
    return c, c, c


def ilg_kernel_3d(
    rho: np.ndarray,
    spacing: tuple[float, float, float],
    *,
    anisotropic: bool = False,
    d_identity: bool = False,
    units: CoeffUnits = "voxel",
    smooth_sigma_vox: float = 1.0,
    lambda_rec_kpc: float = 0.5,
    smooth_sigma_kpc: float | None = None,
    coeff_override: np.ndarray | None = None,
    gext: float = 0.0,
    solver: SolverSettings | None = None,
    k1_null: bool = False,
) -> Kernel3DResult:
    """The 3D ILG kernel K for a density proxy ``rho`` (y, x, z) with spacings (dy, dx, dz) [kpc].

    gext: external field as a dimensionless ratio ε to the box's peak |ā| (0 → f_ext = 1).
    coeff_override: an isotropic coefficient field (same shape as rho) used instead of the structure
    tensor (the precomputed-features path). k1_null: return K = 1 everywhere (the K = 1 ablation; no solve).
    solver: default :meth:`SolverSettings.original_3d`.
    """
    out = ilg_kernel_3d_batch([finite_field(rho, 3, "ilg_kernel_3d (rho)")], spacing, anisotropic=anisotropic, d_identity=d_identity, units=units,
                              smooth_sigma_vox=smooth_sigma_vox, lambda_rec_kpc=lambda_rec_kpc,
                              smooth_sigma_kpc=smooth_sigma_kpc,
                              coeff_override=None if coeff_override is None else [coeff_override],
                              gext=[gext], solver=solver, k1_null=k1_null, batched_solve=False)
    return out[0]


def ilg_kernel_3d_batch(
    rhos: Sequence[np.ndarray],
    spacing: tuple[float, float, float] | Sequence[tuple[float, float, float]],
    *,
    anisotropic: bool = False,
    d_identity: bool = False,
    units: CoeffUnits = "voxel",
    smooth_sigma_vox: float = 1.0,
    lambda_rec_kpc: float = 0.5,
    smooth_sigma_kpc: float | None = None,
    coeff_override: Sequence[np.ndarray | None] | None = None,
    gext: Sequence[float] | None = None,
    solver: SolverSettings | None = None,
    k1_null: bool = False,
    batched_solve: bool = True,
) -> list[Kernel3DResult]:
    """:func:`ilg_kernel_3d` for several boxes of one shape; ``spacing`` may differ per box.

    With ``batched_solve`` the CG runs once over the stacked batch (each item has its own step sizes and
    stopping), which is faster for small grids; the per-item results equal the one-at-a-time ones to
    rounding. Results are returned per box (``solve`` is None for batched solves).
    """
    solver = solver or SolverSettings.original_3d()
    nb = len(rhos)
    spacings = [tuple(spacing)] * nb if np.isscalar(spacing[0]) else [tuple(s) for s in spacing]  # type: ignore[index]
    gexts = list(gext) if gext is not None else [0.0] * nb
    overrides = list(coeff_override) if coeff_override is not None else [None] * nb
    if not (len(spacings) == len(gexts) == len(overrides) == nb):
        raise ValueError("ilg_kernel_3d_batch: rhos, spacing, gext and coeff_override lengths differ")
    shapes = {np.shape(r) for r in rhos}
    if len(shapes) != 1:
        raise ValueError(f"ilg_kernel_3d_batch: all boxes need one shape, got {sorted(shapes)}")
    prep = []
    for rho, sp, ov, ge in zip(rhos, spacings, overrides, gexts):
        phi, a = acceleration_field(rho, sp)
        g = np.sqrt(a[0] ** 2 + a[1] ** 2 + a[2] ** 2)
        if ov is not None:
            if ov.shape != rho.shape:
                raise ValueError(f"coeff_override shape {ov.shape} != rho shape {rho.shape}")
            coeffs = (ov, ov, ov)
        else:
            coeffs = diffusion_coeffs_3d(rho, sp, anisotropic=anisotropic, d_identity=d_identity, units=units,
                                         smooth_sigma_vox=smooth_sigma_vox, lambda_rec_kpc=lambda_rec_kpc,
                                         smooth_sigma_kpc=smooth_sigma_kpc)
        f, f_ext = rhs_from_acceleration(g, ge)
        prep.append((phi, a, coeffs, f, float(f_ext)))
    if k1_null:
        return [Kernel3DResult(K=np.ones_like(p[3]), phi=p[0], a=tuple(p[1]), coeffs=p[2], f=p[3], f_ext=p[4],
                               solve=None) for p in prep]
    if not batched_solve or nb == 1:
        out = []
        for sp, (phi, a, coeffs, f, f_ext) in zip(spacings, prep):
            sol = solve_kernel(DiffusionOperator(list(coeffs), sp), f, f_ext, solver)
            out.append(Kernel3DResult(K=sol.K, phi=phi, a=tuple(a), coeffs=coeffs, f=f, f_ext=f_ext, solve=sol,
                                      iterations=sol.phi.iterations, rel_residual=sol.phi.rel_residual))
        return out
    # Batched solve: fold each item's spacing into its coefficients (c/d² is all the operator uses).
    coeff_stack = [np.stack([p[2][ax] / (sp[ax] ** 2) for p, sp in zip(prep, spacings)]) for ax in range(3)]
    op = DiffusionOperator(coeff_stack, (1.0, 1.0, 1.0), batched=True)
    f_all = np.stack([p[3] for p in prep])
    fext_all = np.array([p[4] for p in prep]).reshape(-1, 1, 1, 1)
    sol = solve_kernel(op, f_all, fext_all, solver)
    return [Kernel3DResult(K=sol.K[i], phi=p[0], a=tuple(p[1]), coeffs=p[2], f=p[3], f_ext=p[4], solve=None,
                           iterations=int(sol.phi.iterations[i]), rel_residual=float(sol.phi.rel_residual[i]))
            for i, p in enumerate(prep)]
