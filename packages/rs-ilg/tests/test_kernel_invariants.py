"""Kernel invariants of spec §13 and solver checks against peers (scipy)."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.ndimage as ndi
import scipy.sparse as sp
import scipy.sparse.linalg as spla

from rs_ilg.constants import C_LAG
from rs_ilg.gridsolve import SolverSettings, rhs_from_acceleration, solve_kernel
from rs_ilg.kernel2d import ilg_kernel_2d
from rs_ilg.kernel3d import ilg_kernel_3d
from rs_ilg.modes import ModeConfig
from rs_ilg.proxies import ComponentWeights, rho_proxy_3d, sigma_proxy_2d
from rs_ilg.solvers import (DiffusionOperator, FFTPreconditioner, cg_solve, central_gradient, fft_poisson,
                            periodic_gaussian_filter)

RNG = np.random.default_rng(7)


def _dense(op: DiffusionOperator, shape) -> np.ndarray:
    n = int(np.prod(shape))
    cols = []
    for i in range(n):
        e = np.zeros(n)
        e[i] = 1.0
        cols.append(op(e.reshape(shape)).ravel())
    return np.array(cols).T


def _random_op(shape, spacing):
    coeffs = [RNG.uniform(0.05, 1.0, shape) for _ in shape]
    return DiffusionOperator(coeffs, spacing)


@pytest.mark.parametrize("shape,spacing", [((8, 8), (1.0, 1.0)), ((6, 5, 4), (0.3, 0.25, 0.02))])
def test_operator_constant_in_constant_out(shape, spacing):
    op = _random_op(shape, spacing)
    u = np.full(shape, 3.7)
    assert np.array_equal(op(u), u)


@pytest.mark.parametrize("shape,spacing", [((8, 8), (1.0, 1.0)), ((5, 4, 4), (0.3, 0.25, 0.05))])
def test_operator_is_spd(shape, spacing):
    A = _dense(_random_op(shape, spacing), shape)
    np.testing.assert_allclose(A, A.T, rtol=0, atol=1e-12 * np.abs(A).max())
    ev = np.linalg.eigvalsh(0.5 * (A + A.T))
    # A = I + (graph Laplacian with non-negative weights): every eigenvalue is >= 1
    assert ev.min() > 1.0 - 1e-9


def test_operator_matches_sparse_assembly():
    """The stencil equals an independently assembled sparse matrix I + Σ D_axisᵀ W D_axis."""
    shape, spacing = (6, 7), (1.0, 0.5)
    coeffs = [RNG.uniform(0.1, 1.0, shape) for _ in shape]
    op = DiffusionOperator(coeffs, spacing)
    n = shape[0] * shape[1]
    idx = np.arange(n).reshape(shape)
    A = sp.identity(n, format="lil")
    for ax, (c, d) in enumerate(zip(coeffs, spacing)):
        nb = np.roll(idx, -1, axis=ax)
        w = 0.5 * (c + np.roll(c, -1, axis=ax)) / d**2
        for i, j, wij in zip(idx.ravel(), nb.ravel(), w.ravel()):
            A[i, i] += wij
            A[j, j] += wij
            A[i, j] -= wij
            A[j, i] -= wij
    u = RNG.normal(size=shape)
    np.testing.assert_allclose(op(u).ravel(), A.tocsr() @ u.ravel(), rtol=1e-12, atol=1e-12)


def test_fft_poisson_against_analytic_mode():
    n, L = 32, 10.0
    x = (np.arange(n) + 0.5) * L / n
    k = 2 * np.pi * 3 / L
    rho = np.sin(k * x)[:, None] * np.ones((1, 16))
    phi = fft_poisson(rho, (L / n, 1.0))
    np.testing.assert_allclose(phi, -rho / k**2, atol=1e-12)
    assert abs(fft_poisson(rho + 5.0, (L / n, 1.0)).mean()) < 1e-12  # zero mean, constant dropped


def test_central_gradient_periodic():
    n = 16
    x = np.arange(n)
    u = np.sin(2 * np.pi * x / n)[:, None] * np.ones((1, 4))
    gy, gx = central_gradient(u, (2.0, 1.0))
    np.testing.assert_allclose(gy[:, 0], (np.roll(u[:, 0], -1) - np.roll(u[:, 0], 1)) / 4.0)
    assert np.all(gx == 0)


def test_periodic_gaussian_matches_scipy_wrap():
    a = RNG.normal(size=(40, 36))
    ours = periodic_gaussian_filter(a, 1.6)
    ref = ndi.gaussian_filter(a, 1.6, mode="wrap", truncate=10.0)
    np.testing.assert_allclose(ours, ref, atol=1e-12)
    np.testing.assert_allclose(periodic_gaussian_filter(np.full((8, 8, 8), 2.0), (1.0, 0.5, 3.0)), 2.0)


def test_cg_and_pcg_match_direct_solve():
    shape, spacing = (12, 10, 8), (0.4, 0.4, 0.02)
    op = _random_op(shape, spacing)
    b = RNG.uniform(1, 2, shape)
    A = sp.csr_matrix(_dense(op, shape))  # 960 unknowns
    x_ref = spla.spsolve(A, b.ravel()).reshape(shape)
    pcg = cg_solve(op, b, maxiter=500, tol=1e-10, stop="relative", precond=FFTPreconditioner(op))
    assert pcg.rel_residual <= 1.1e-10
    np.testing.assert_allclose(pcg.x, x_ref, rtol=1e-8)
    plain = cg_solve(op, b, maxiter=5000, tol=1e-10, stop="relative")
    np.testing.assert_allclose(plain.x, x_ref, rtol=1e-8)
    assert pcg.iterations < plain.iterations


def test_cg_batched_equals_single():
    shape = (8, 8, 6)
    ops = [_random_op(shape, (0.5, 0.5, 0.1)) for _ in range(3)]
    bs = [RNG.uniform(1, 2, shape) for _ in range(3)]
    faces = [np.stack([o.face[ax] for o in ops]) for ax in range(3)]
    bop = DiffusionOperator([np.zeros((3,) + shape)] * 3, (1.0, 1.0, 1.0), batched=True)
    bop.face = faces
    res = cg_solve(bop, np.stack(bs), maxiter=300, tol=1e-10, stop="relative", precond=FFTPreconditioner(bop),
                   batched=True)
    for i in range(3):
        single = cg_solve(ops[i], bs[i], maxiter=300, tol=1e-10, stop="relative")
        np.testing.assert_allclose(res.x[i], single.x, rtol=1e-8)
    assert np.all(res.rel_residual <= 1.1e-10)


def test_y1_is_one_after_one_iteration():
    op = _random_op((16, 16), (1.0, 1.0))
    res = cg_solve(op, np.ones((16, 16)), maxiter=400, tol=1e-6, stop="per_step")
    assert res.iterations == 1
    np.testing.assert_allclose(res.x, 1.0, rtol=0, atol=1e-14)


@pytest.mark.parametrize("settings", [SolverSettings.original_2d(), SolverSettings.converged(tol=1e-10)])
def test_K_is_one_for_constant_f(settings):
    g = np.full((24, 24), 0.37)  # uniform field strength -> f = 1 everywhere
    f, f_ext = rhs_from_acceleration(g)
    assert np.all(f == 1.0) and f_ext == 1.0
    op = _random_op((24, 24), (1.0, 1.0))
    K = solve_kernel(op, f, f_ext, settings).K
    np.testing.assert_allclose(K, 1.0, rtol=0, atol=1e-12)


def _check_bounds(K, f, f_ext=1.0, tol=1e-10):
    assert K.min() >= 1.0 - tol
    assert (K - 1.0).max() <= C_LAG * (f.max() - f_ext) + tol


@pytest.mark.parametrize("solver", [SolverSettings.original_2d(), SolverSettings.converged()])
@pytest.mark.parametrize("anisotropic", [True, False])
def test_K_bounds_2d(solver, anisotropic):
    sig, dx = sigma_proxy_2d(1.5, ComponentWeights(0.5, 0.3, 0.2), nx=64)
    res = ilg_kernel_2d(sig, anisotropic=anisotropic, smooth_sigma_px=1.6, solver=solver)
    _check_bounds(res.K, res.f)
    assert res.K.max() > 1.0 + 1e-4  # the kernel does something


def test_K_bounds_2d_with_external_field():
    sig, _ = sigma_proxy_2d(1.0, ComponentWeights(1.0, 0.0, 0.0), nx=48)
    res0 = ilg_kernel_2d(sig, solver=SolverSettings.converged())
    res = ilg_kernel_2d(sig, gext=0.05, solver=SolverSettings.converged())
    assert res.f_ext < 1.0
    _check_bounds(res.K, res.f, res.f_ext)
    assert (res.K - 1).max() < (res0.K - 1).max()  # an external field screens the kernel


@pytest.mark.parametrize("units", ["voxel", "physical"])
@pytest.mark.parametrize("anisotropic", [True, False])
def test_K_bounds_3d_converged(units, anisotropic):
    box = rho_proxy_3d(1.2, ComponentWeights(0.6, 0.3, 0.1), nx=24, ny=24, nz=16, mode=ModeConfig.corrected())
    res = ilg_kernel_3d(box.rho, box.spacing, anisotropic=anisotropic, units=units,
                        solver=SolverSettings.converged(tol=1e-10))
    assert res.rel_residual <= 1.1e-10
    _check_bounds(res.K, res.f, tol=1e-8)
    assert res.K.max() > 1.0 + 1e-4


def test_3d_converged_float32_agrees_with_float64():
    box = rho_proxy_3d(0.8, ComponentWeights(0.7, 0.3, 0.0), nx=32, ny=32, nz=32, mode=ModeConfig.compat())
    k64 = ilg_kernel_3d(box.rho, box.spacing, anisotropic=True, solver=SolverSettings.converged(tol=1e-10)).K
    k32 = ilg_kernel_3d(box.rho, box.spacing, anisotropic=True,
                        solver=SolverSettings.converged(tol=1e-5, dtype="float32")).K
    assert np.max(np.abs(k32 - k64)) < 1e-5


def test_physical_units_are_grid_consistent():
    """With physical units the operator is the same at any resolution: K at 24³ and 40³ agree far better
    than in the original voxel units (spec §12.12)."""
    w, mode = ComponentWeights(1.0, 0.0, 0.0), ModeConfig.corrected()

    def mid_ring(n, units):
        box = rho_proxy_3d(1.0, w, nx=n, ny=n, nz=n, mode=mode)
        K = ilg_kernel_3d(box.rho, box.spacing, units=units, solver=SolverSettings.converged(tol=1e-10)).K
        km = K[:, :, n // 2]
        c = (n - 1) / 2
        jj, ii = np.indices(km.shape)
        r = np.hypot(ii - c, jj - c) * box.dx
        return np.array([km[np.abs(r - rr) < box.dx / 2].mean() for rr in (2.0, 3.0, 4.0)])

    d_phys = np.abs(mid_ring(24, "physical") - mid_ring(40, "physical")).max()
    d_vox = np.abs(mid_ring(24, "voxel") - mid_ring(40, "voxel")).max()
    assert d_phys < d_vox


def test_solver_settings_from_mode():
    s = SolverSettings.from_mode(ModeConfig.compat(), 3)
    assert (s.stop, s.maxiter_phi, s.maxiter_y1, s.preconditioner) == ("per_step", 400, 60, "none")
    s2 = SolverSettings.from_mode(ModeConfig.compat(), 2)
    assert (s2.maxiter_phi, s2.maxiter_y1) == (400, 400)
    c = SolverSettings.from_mode(ModeConfig.corrected(), 3)
    assert c.stop == "relative" and c.preconditioner == "fft" and c.tol == 1e-8
    with pytest.raises(ValueError, match="stop"):
        SolverSettings(stop="never")  # type: ignore[arg-type]


def test_bad_inputs_raise():
    with pytest.raises(ValueError, match="non-finite"):
        ilg_kernel_2d(np.full((8, 8), np.nan))
    with pytest.raises(ValueError, match="R_d"):
        sigma_proxy_2d(0.0, ComponentWeights(1, 0, 0))
    with pytest.raises(ValueError, match="weights are zero"):
        sigma_proxy_2d(1.0, ComponentWeights(0, 0, 0))
