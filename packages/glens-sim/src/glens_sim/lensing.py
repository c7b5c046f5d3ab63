"""Lens-level quantities of a multi-component lens: ray shooting, hessian, convergence, shear
and magnification maps (NumPy or torch, batched, no host synchronisation).

A lens is a sequence of components ``(name, kwargs)`` with lenstronomy profile names and
keyword names (:mod:`glens_sim.profiles`); every component of a single lens plane adds its
deflection and its hessian. A keyword may be a float, a 0-d tensor, or a per-sample ``(B,)``
tensor/array, which is viewed as ``(B, 1, ..., 1)`` to broadcast against ``x`` and ``y``
(``(H, W)`` or the sparse ``(1, W)``/``(H, 1)`` of :func:`glens_sim.grid.pixel_grid`), giving
maps of shape ``(B, H, W)``. Unlike :func:`glens_sim.raytrace.ray_shoot`, nothing here inspects
tensor values (no ``bool(tensor)``), so the same code runs batched on a GPU without a sync.

Definitions (lenstronomy ``LensModel``): ``kappa = (f_xx + f_yy)/2``, ``gamma1 = (f_xx -
f_yy)/2``, ``gamma2 = f_xy``, magnification ``mu = 1/det(A)`` with
``A = [[1 - f_xx, -f_xy], [-f_yx, 1 - f_yy]]`` (signed: negative for saddle images).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import torch

from glens_sim.profiles import deflection, hessian

__all__ = ["per_sample", "total_deflection", "ray_shoot", "lens_hessian", "convergence_map",
           "shear_map", "magnification_map"]

Array = Any  # numpy.ndarray | torch.Tensor
Lens = Sequence[tuple[str, Mapping[str, Any]]]


def per_sample(value: Any, ndim: int) -> Any:
    """A 1-D ``(B,)`` tensor/array viewed as ``(B, 1, ..., 1)`` (``ndim`` trailing axes);
    anything else unchanged. A pure reshape: no value is inspected."""
    if isinstance(value, (torch.Tensor, np.ndarray)) and value.ndim == 1:
        return value.reshape(-1, *([1] * ndim))
    return value


def _ndim(x: Array, y: Array) -> int:
    return max(v.ndim if isinstance(v, (torch.Tensor, np.ndarray)) else np.ndim(v)
               for v in (x, y))


def total_deflection(x: Array, y: Array, lenses: Lens) -> tuple[Array, Array]:
    """Sum of the components' deflections ``(alpha_x, alpha_y)``, shape ``(B, H, W)`` for
    per-sample keywords (the broadcast of ``x``, ``y`` and the keywords)."""
    nd = _ndim(x, y)
    total_x = total_y = None
    for name, kwargs in lenses:
        ax, ay = deflection(name, x, y, **{k: per_sample(v, nd) for k, v in kwargs.items()})
        total_x = ax if total_x is None else total_x + ax
        total_y = ay if total_y is None else total_y + ay
    if total_x is None:
        raise ValueError("lenses: need at least one (name, kwargs) component")
    return total_x, total_y


def ray_shoot(x: Array, y: Array, lenses: Lens) -> tuple[Array, Array]:
    """Source-plane positions ``beta = theta - sum_k alpha_k(theta)`` (see
    :func:`total_deflection` for shapes)."""
    ax, ay = total_deflection(x, y, lenses)
    return x - ax, y - ay


def lens_hessian(x: Array, y: Array, lenses: Lens) -> tuple[Array, Array, Array, Array]:
    """Sum of the components' hessians ``(f_xx, f_xy, f_yx, f_yy)`` (lenstronomy's order)."""
    nd = _ndim(x, y)
    total = None
    for name, kwargs in lenses:
        h = hessian(name, x, y, **{k: per_sample(v, nd) for k, v in kwargs.items()})
        total = h if total is None else tuple(a + b for a, b in zip(total, h))
    if total is None:
        raise ValueError("lenses: need at least one (name, kwargs) component")
    return total


def convergence_map(x: Array, y: Array, lenses: Lens) -> Array:
    """Convergence ``kappa = (f_xx + f_yy)/2`` of the whole lens."""
    f_xx, _, _, f_yy = lens_hessian(x, y, lenses)
    return (f_xx + f_yy) / 2.0


def shear_map(x: Array, y: Array, lenses: Lens) -> tuple[Array, Array]:
    """Shear ``(gamma1, gamma2) = ((f_xx - f_yy)/2, f_xy)`` of the whole lens."""
    f_xx, f_xy, _, f_yy = lens_hessian(x, y, lenses)
    return (f_xx - f_yy) / 2.0, f_xy


def magnification_map(x: Array, y: Array, lenses: Lens) -> Array:
    """Signed point magnification ``1/((1 - f_xx)(1 - f_yy) - f_xy f_yx)`` (infinite on the
    critical curves, where the determinant is 0)."""
    f_xx, f_xy, f_yx, f_yy = lens_hessian(x, y, lenses)
    return 1.0 / ((1.0 - f_xx) * (1.0 - f_yy) - f_xy * f_yx)
