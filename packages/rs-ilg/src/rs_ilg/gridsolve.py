"""Solver settings shared by the 2D and 3D ILG kernels, and the right-hand side f (spec §6.2, §7.2).

:class:`SolverSettings` says how ``A φ = f`` and ``A y₁ = 1`` are solved:

- ``SolverSettings.original_2d()`` / ``original_3d()`` — the original's unpreconditioned CG from zero,
  tolerance 1e-6 under its per-step stopping test (spec §12.13), capped at 400 iterations for φ and
  400 (2D) / 60 (3D) for y₁, float64. These reproduce the reference numbers, unconverged 3D solves
  included.
- ``SolverSettings.converged()`` — FFT-preconditioned CG stopped at ``‖r‖ ≤ tol ‖r₀‖`` (default 1e-8),
  optionally in float32 (``dtype="float32"``; the 3D coefficient fields are smooth and K - 1 is small, so
  1e-5-level accuracy in K holds).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Literal

import numpy as np
from pydantic import Field

from .config import config_dataclass
from .constants import ALPHA, C_LAG
from .modes import ModeConfig
from .solvers import CGResult, DiffusionOperator, FFTPreconditioner, StopRule, cg_solve

__all__ = ["SolverSettings", "rhs_from_acceleration", "solve_kernel", "KernelSolve"]


@config_dataclass
class SolverSettings:
    """How the kernel's linear systems are solved.

    stop: ``"per_step"`` (original) or ``"relative"`` (converged); tol: CG tolerance under that rule;
    maxiter_phi / maxiter_y1: iteration caps; preconditioner: ``"none"`` or ``"fft"``;
    dtype: ``"float64"`` or ``"float32"`` for the CG arithmetic; solve_y1: if False, use the exact
    y₁ = 1 (A 1 = 1) instead of solving for it.
    """

    stop: StopRule = "relative"
    tol: Annotated[float, Field(gt=0)] = 1e-8
    maxiter_phi: Annotated[int, Field(ge=1)] = 2000
    maxiter_y1: Annotated[int, Field(ge=1)] = 2000
    preconditioner: Literal["none", "fft"] = "fft"
    dtype: Literal["float64", "float32"] = "float64"
    solve_y1: bool = True

    @classmethod
    def original_2d(cls) -> "SolverSettings":
        """Original 2D solve: plain CG, per-step tol 1e-6, 400/400 iterations, float64."""
        return cls(stop="per_step", tol=1e-6, maxiter_phi=400, maxiter_y1=400, preconditioner="none")

    @classmethod
    def original_3d(cls) -> "SolverSettings":
        """Original 3D runner solve: plain CG, per-step tol 1e-6, 400 (φ) / 60 (y₁) iterations, float64."""
        return cls(stop="per_step", tol=1e-6, maxiter_phi=400, maxiter_y1=60, preconditioner="none")

    @classmethod
    def converged(cls, tol: float = 1e-8, dtype: Literal["float64", "float32"] = "float64") -> "SolverSettings":
        """FFT-preconditioned CG to ‖r‖ ≤ tol ‖r₀‖."""
        return cls(stop="relative", tol=tol, preconditioner="fft", dtype=dtype)

    @classmethod
    def from_mode(cls, mode: ModeConfig, ndim: int, *, dtype: Literal["float64", "float32"] = "float64") -> "SolverSettings":
        """Settings from a :class:`~rs_ilg.modes.ModeConfig` (fields ``cg_stop``, ``cg_tol``, the caps).

        The original per-step rule runs plain CG (it reproduces the reference numbers only that way);
        the relative rule uses the FFT preconditioner. A cap of ``None`` means 5000 iterations (a
        safety net; preconditioned solves converge in a few tens).
        """
        if ndim not in (2, 3):
            raise ValueError(f"ndim must be 2 or 3, got {ndim}")
        cap_phi = mode.cg_max_iter_2d if ndim == 2 else mode.cg_max_iter_3d
        cap_y1 = mode.cg_max_iter_2d if ndim == 2 else mode.cg_max_iter_y1_3d
        per_step = mode.cg_stop == "per_step"
        return cls(
            stop="per_step" if per_step else "relative",
            tol=mode.cg_tol,
            maxiter_phi=cap_phi if cap_phi is not None else 5000,
            maxiter_y1=cap_y1 if cap_y1 is not None else 5000,
            preconditioner="none" if per_step else "fft",
            dtype=dtype,
        )


def rhs_from_acceleration(g: np.ndarray, gext: float = 0.0, *, batched: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Right-hand side ``f`` and ``f_ext`` of the kernel (spec §6.2 item 5).

    ``ĝ = g / max(max g, 1e-9)`` (peak over the grid, per batch item when ``batched``), then
    ``f = max((ĝ + ε)/max(1, ε), 1e-12)^(-α)`` and ``f_ext = (1 + ε/max(1, ε))^(-α)`` with ε = ``gext``
    (dimensionless; a float, or one value per batch item). With ε = 0, f = max(ĝ, 1e-12)^(-α) ≥ 1 and
    f_ext = 1. Returns ``(f, f_ext)``, f_ext as an array broadcastable against f.
    """
    nd = g.ndim - (1 if batched else 0)
    if batched:
        gmax = np.maximum(g.reshape(g.shape[0], -1).max(axis=1), 1e-9).reshape((-1,) + (1,) * nd)
        eps = np.broadcast_to(np.asarray(gext, dtype=float), (g.shape[0],)).reshape((-1,) + (1,) * nd)
    else:
        gmax = max(float(g.max()), 1e-9)
        eps = np.asarray(float(gext))
    if np.any(eps < 0):
        raise ValueError(f"external field ratio must be >= 0, got {gext!r}")
    scale = np.maximum(1.0, eps)
    f = np.maximum((g / gmax + eps) / scale, 1e-12) ** (-ALPHA)
    f_ext = (1.0 + eps / scale) ** (-ALPHA)
    return f, f_ext


@dataclass(frozen=True)
class KernelSolve:
    """K and the two solves behind it: ``K = 1 + C_lag (φ - y₁ f_ext)``."""

    K: np.ndarray
    phi: CGResult
    y1: CGResult | None


def solve_kernel(
    op: DiffusionOperator,
    f: np.ndarray,
    f_ext: np.ndarray | float,
    settings: SolverSettings,
    *,
    workers: int | None = None,
) -> KernelSolve:
    """Solve ``A φ = f`` and ``A y₁ = 1`` per ``settings`` and return ``K = 1 + C_lag (φ - y₁ f_ext)``.

    Works on batched operators (leading batch axis) as well. K is returned in float64.
    """
    dt = np.dtype(settings.dtype)
    a = op if op.dtype == dt else op.astype(dt)
    pre = FFTPreconditioner(a, workers=workers) if settings.preconditioner == "fft" else None
    b = np.ascontiguousarray(f, dtype=dt)
    phi = cg_solve(a, b, maxiter=settings.maxiter_phi, tol=settings.tol, stop=settings.stop,
                   precond=pre, batched=op.batched)
    if settings.solve_y1:
        y1 = cg_solve(a, np.ones_like(b), maxiter=settings.maxiter_y1, tol=settings.tol, stop=settings.stop,
                      precond=pre, batched=op.batched)
        y1x = y1.x.astype(float)
    else:
        y1, y1x = None, 1.0
    K = 1.0 + C_LAG * (phi.x.astype(float) - y1x * f_ext)
    return KernelSolve(K=K, phi=phi, y1=y1)
