"""Lens profiles with lenstronomy's names, keyword names and conventions.

One implementation serves NumPy arrays and torch tensors: every formula is written against a
tiny array namespace (:class:`_NumpyOps` / :class:`_TorchOps`) picked from the inputs, so the
torch ray tracer and a NumPy user evaluate the same expressions.

Profiles (``name``: keyword arguments; all angles in the caller's angular unit):

* ``"SIS"``: ``theta_E, center_x=0, center_y=0``. ``alpha = theta_E (x, y)/r``, 0 at r = 0
  (the smallest normal float is added to r^2 to make that so without a branch).
* ``"SIE"``: ``theta_E, e1, e2, center_x=0, center_y=0``. lenstronomy's ``SIE`` (analytic
  ``NIE`` with smoothing 1e-10): ``theta_E`` is the product-averaged (circularised) Einstein
  radius, ``phi = atan2(e2, e1)/2``, ``q = (1-|e|)/(1+|e|)`` (|e| capped at 0.9999), and the
  Keeton & Kochanek (1998) normalisation ``b = theta_E * sqrt(q)`` (the sqrt(q) the original
  code forgot), convergence ``kappa = b / (2 sqrt(q^2 x^2 + y^2))`` in the frame of the
  major axis.
* ``"NFW"``: ``Rs, alpha_Rs, center_x=0, center_y=0``; ``alpha_Rs`` = deflection at ``Rs``.
* ``"TNFW"``: ``Rs, alpha_Rs, r_trunc, center_x=0, center_y=0`` (Baltz, Marshall & Oguri
  2009 truncation ``r_trunc^2/(r^2 + r_trunc^2)``; ``alpha_Rs`` ignores the truncation, as in
  lenstronomy).
* ``"SHEAR"``: ``gamma1, gamma2, ra_0=0, dec_0=0`` (deflection zero at ``(ra_0, dec_0)``).

Every keyword may be a scalar or an array/tensor broadcastable against ``x`` (e.g. shape
``(B, 1, 1)`` against ``(B, H, W)`` for per-sample parameters in a batch). The small-radius
guards (clamps) are lenstronomy's, so results agree with lenstronomy 1.14 to rounding
(NFW's mass function is evaluated in cancellation-free forms, which also fixes lenstronomy's
loss of precision at R -> Rs; TNFW torch inputs below float64 are evaluated in float64).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
import torch

__all__ = ["PROFILES", "deflection", "convergence", "profile_params"]

Array = Any  # numpy.ndarray | torch.Tensor


class _NumpyOps:
    """NumPy implementation of the handful of functions the formulas need."""

    #: cap of an axis ratio (lenstronomy's 0.99999999: keeps sqrt(1 - q^2) > 0)
    almost_one = 0.99999999
    #: smallest normal float64
    tiny = float(np.finfo(np.float64).tiny)
    pi = math.pi
    sqrt = staticmethod(np.sqrt)

    @staticmethod
    def rsqrt(x: np.ndarray) -> np.ndarray:
        return 1.0 / np.sqrt(x)

    log = staticmethod(np.log)
    arctan = staticmethod(np.arctan)
    arctan2 = staticmethod(np.arctan2)
    arctanh = staticmethod(np.arctanh)
    log1p = staticmethod(np.log1p)
    cos = staticmethod(np.cos)
    sin = staticmethod(np.sin)
    where = staticmethod(np.where)
    maximum = staticmethod(np.maximum)
    minimum = staticmethod(np.minimum)
    zeros_like = staticmethod(np.zeros_like)

    @staticmethod
    def asarray(value: Array) -> np.ndarray:
        return np.asarray(value, dtype=np.result_type(np.asarray(value).dtype, np.float64))


class _TorchOps:
    """torch implementation; scalars are promoted to tensors of the coordinates' dtype/device."""

    pi = math.pi
    sqrt = staticmethod(torch.sqrt)
    rsqrt = staticmethod(torch.rsqrt)
    log = staticmethod(torch.log)
    arctan = staticmethod(torch.atan)
    arctan2 = staticmethod(torch.atan2)
    arctanh = staticmethod(torch.atanh)
    log1p = staticmethod(torch.log1p)
    cos = staticmethod(torch.cos)
    sin = staticmethod(torch.sin)
    zeros_like = staticmethod(torch.zeros_like)

    def __init__(self, dtype: torch.dtype, device: torch.device) -> None:
        self.dtype = dtype
        self.device = device
        # lenstronomy's cap rounds to 1.0 in float32; stay 4 ulp below 1 there
        self.almost_one = min(_NumpyOps.almost_one, 1.0 - 4 * torch.finfo(dtype).eps)
        self.tiny = float(torch.finfo(dtype).tiny)

    def asarray(self, value: Array) -> torch.Tensor:
        return torch.as_tensor(value, dtype=self.dtype, device=self.device)

    def where(self, cond: torch.Tensor, a: Array, b: Array) -> torch.Tensor:
        return torch.where(cond, self.asarray(a), self.asarray(b))

    def maximum(self, a: torch.Tensor, b: Array) -> torch.Tensor:
        return torch.maximum(a, self.asarray(b))

    def minimum(self, a: torch.Tensor, b: Array) -> torch.Tensor:
        return torch.minimum(a, self.asarray(b))


def _namespace(values: list[Array]) -> _NumpyOps | _TorchOps:
    tensors = [v for v in values if isinstance(v, torch.Tensor)]
    if not tensors:
        return _NumpyOps()
    floating = [t.dtype for t in tensors if t.is_floating_point()]
    dtype = floating[0] if floating else torch.get_default_dtype()
    return _TorchOps(dtype, tensors[0].device)


# ---------------------------------------------------------------------------------------------
# SIS
# ---------------------------------------------------------------------------------------------
def _sis_deflection(xp, x, y, theta_E, center_x=0.0, center_y=0.0):
    dx, dy = x - center_x, y - center_y
    # alpha = theta_E (dx, dy) / r, written so that only four operations run at the full
    # broadcast shape when x, y are a sparse grid: the dtype's smallest normal number is added
    # to r^2 (below rounding unless r = 0), so alpha = 0 at r = 0 exactly, as lenstronomy
    inv_r = xp.rsqrt(dx * dx + (dy * dy + xp.tiny))
    return (theta_E * dx) * inv_r, (theta_E * dy) * inv_r


def _sis_convergence(xp, x, y, theta_E, center_x=0.0, center_y=0.0):
    dx, dy = x - center_x, y - center_y
    r = xp.sqrt(dx * dx + dy * dy)
    return xp.where(r > 0, 0.5 * theta_E / r, 0.0)


# ---------------------------------------------------------------------------------------------
# SIE (lenstronomy SIE = NIE with s_scale = 1e-10)
# ---------------------------------------------------------------------------------------------
_SIE_S_SCALE = 1e-10


def _sie_geometry(xp, theta_E, e1, e2):
    """Orientation phi, axis ratio q, major-axis normalisation b and smoothing s."""
    e1 = xp.asarray(e1)
    e2 = xp.asarray(e2)
    phi = xp.arctan2(e2, e1) / 2.0
    c = xp.minimum(xp.sqrt(e1 * e1 + e2 * e2), 0.9999)
    q = (1.0 - c) / (1.0 + c)
    theta_major = theta_E / xp.sqrt((1.0 + q * q) / (2.0 * q))
    b = theta_major * xp.sqrt((1.0 + q * q) / 2.0)  # = theta_E * sqrt(q)
    s = _SIE_S_SCALE / xp.sqrt(q)
    return phi, q, b, s


def _rotate(xp, x, y, angle):
    """Coordinates in a frame rotated counter-clockwise by ``angle``."""
    c, s = xp.cos(angle), xp.sin(angle)
    return x * c + y * s, -x * s + y * c


def _sie_deflection(xp, x, y, theta_E, e1, e2, center_x=0.0, center_y=0.0):
    phi, q, b, s = _sie_geometry(xp, theta_E, e1, e2)
    xr, yr = _rotate(xp, x - center_x, y - center_y, phi)
    q = xp.minimum(q, xp.almost_one)
    psi = xp.sqrt(q * q * (s * s + xr * xr) + yr * yr)
    root = xp.sqrt(1.0 - q * q)
    ax = b / root * xp.arctan(root * xr / (psi + s))
    ay = b / root * xp.arctanh(root * yr / (psi + q * q * s))
    return _rotate(xp, ax, ay, -phi)


def _sie_convergence(xp, x, y, theta_E, e1, e2, center_x=0.0, center_y=0.0):
    phi, q, b, s = _sie_geometry(xp, theta_E, e1, e2)
    xr, yr = _rotate(xp, x - center_x, y - center_y, phi)
    return b / 2.0 / xp.sqrt(q * q * (s * s + xr * xr) + yr * yr)


# ---------------------------------------------------------------------------------------------
# NFW
# ---------------------------------------------------------------------------------------------
def _nfw_rho0(alpha_Rs, Rs):
    return alpha_Rs / (4.0 * Rs * Rs * (1.0 + math.log(0.5)))


def _nfw_g(xp, X):
    """lenstronomy ``NFW._g`` (projected mass function), ``X = R/Rs >= 1e-6``.

    lenstronomy evaluates ``log(X/2) + arccosh(1/X)/sqrt(1-X^2)`` (and the ``arccos`` form for
    X > 1), which cancels catastrophically for X << 1 and is 0/0 at X -> 1 (in float32 it is
    wrong by percents there). We evaluate the same function in three cancellation-free forms,
    with ``s = sqrt(|1 - X^2|)``:

    * X < 0.5: ``[log(2/X) X^2/(1+s) + log1p(-X^2/(2(1+s)))] / s``;
    * 0.5 <= X < 1: ``log(X/2) + arctanh(s)/s``;
    * X > 1: ``log(X/2) + arctan(s)/s``; X = 1: ``1 + log(1/2)``.
    """
    small = xp.where(X < 0.5, X, 0.25)
    mid = xp.where((X >= 0.5) & (X < 1), X, 0.75)
    hi = xp.where(X > 1, X, 2.0)
    s_small = xp.sqrt(1.0 - small * small)
    s_mid = xp.sqrt(1.0 - mid * mid)
    s_hi = xp.sqrt(hi * hi - 1.0)
    x2 = small * small
    g_small = (xp.log(2.0 / small) * x2 / (1.0 + s_small)
               + xp.log1p(-x2 / (2.0 * (1.0 + s_small)))) / s_small
    g_mid = xp.log(mid / 2.0) + xp.arctanh(s_mid) / s_mid
    g_hi = xp.log(hi / 2.0) + xp.arctan(s_hi) / s_hi
    g_lo = xp.where(X < 0.5, g_small, g_mid)
    return xp.where(X < 1, g_lo, xp.where(X > 1, g_hi, 1.0 + math.log(0.5)))


def _one_minus_F_over_x2m1(t):
    """Series of ``(1 - F(X))/(X^2 - 1)`` in ``t = X - 1`` (``F`` the classic NFW function);
    truncation error < 3e-9 for |t| < 1e-2, where the closed form is 0/0."""
    return 1.0 / 3.0 + t * (-2.0 / 5.0 + t * (13.0 / 35.0 - t * 20.0 / 63.0))


_NEAR_ONE = 1e-2


def _nfw_F(xp, X):
    """lenstronomy ``NFW._F`` (projected density shape), its value at X = 0, and the series
    :func:`_one_minus_F_over_x2m1` for |X - 1| < 0.01 (lenstronomy's form cancels there)."""
    lo = xp.where((X < 1) & (X > 0), X, 0.5)
    hi = xp.where(X > 1, X, 2.0)
    f_lo = 1.0 / (lo * lo - 1.0) * (
        1.0 - 2.0 / xp.sqrt(1.0 - lo * lo) * xp.arctanh(xp.sqrt((1.0 - lo) / (1.0 + lo))))
    f_hi = 1.0 / (hi * hi - 1.0) * (
        1.0 - 2.0 / xp.sqrt(hi * hi - 1.0) * xp.arctan(xp.sqrt((hi - 1.0) / (1.0 + hi))))
    c = 1e-7
    f_zero = -(1.0 - 2.0 * math.atanh(math.sqrt((1.0 - c) / (1.0 + c))))
    closed = xp.where(X > 1, f_hi, xp.where(X > 0, f_lo, f_zero))
    return xp.where(abs(X - 1.0) < _NEAR_ONE, _one_minus_F_over_x2m1(X - 1.0), closed)


def _nfw_deflection(xp, x, y, Rs, alpha_Rs, center_x=0.0, center_y=0.0):
    rho0 = _nfw_rho0(alpha_Rs, Rs)
    Rs = xp.maximum(xp.asarray(Rs), 1e-7)
    dx, dy = x - center_x, y - center_y
    R = xp.maximum(xp.sqrt(dx * dx + dy * dy), 1e-8)
    X = xp.maximum(R / Rs, 1e-6)
    a = 4.0 * rho0 * Rs * _nfw_g(xp, X) / (X * X)
    return a * dx, a * dy


def _nfw_convergence(xp, x, y, Rs, alpha_Rs, center_x=0.0, center_y=0.0):
    rho0 = _nfw_rho0(alpha_Rs, Rs)
    Rs = xp.maximum(xp.asarray(Rs), 1e-7)
    dx, dy = x - center_x, y - center_y
    R = xp.sqrt(dx * dx + dy * dy)
    return 2.0 * rho0 * Rs * _nfw_F(xp, R / Rs)


# ---------------------------------------------------------------------------------------------
# TNFW (lenstronomy TNFW; all radii in units of Rs clamped at 0.001)
# ---------------------------------------------------------------------------------------------
_TNFW_S = 0.001


def _tnfw_F(xp, x):
    """Classic NFW function ``arctanh(sqrt(1-x^2))/sqrt(1-x^2)`` (``arctan`` form for x>1)."""
    x = xp.maximum(x, _TNFW_S)
    lo = xp.where(x < 1, x, 0.5)
    hi = xp.where(x > 1, x, 2.0)
    f_lo = (1.0 - lo * lo) ** -0.5 * xp.arctanh((1.0 - lo * lo) ** 0.5)
    f_hi = (hi * hi - 1.0) ** -0.5 * xp.arctan((hi * hi - 1.0) ** 0.5)
    return xp.where(x < 1, f_lo, xp.where(x > 1, f_hi, 1.0))


def _tnfw_L(xp, x, tau):
    x = xp.maximum(x, _TNFW_S)
    return xp.log(x / (tau + xp.sqrt(tau * tau + x * x)))


def _tnfw_g(xp, x, tau):
    x = xp.maximum(x, _TNFW_S)
    t2 = tau * tau
    return t2 / (t2 + 1.0) ** 2 * (
        (t2 + 1.0 + 2.0 * (x * x - 1.0)) * _tnfw_F(xp, x)
        + tau * math.pi
        + (t2 - 1.0) * xp.log(tau)
        + xp.sqrt(t2 + x * x) * (-math.pi + _tnfw_L(xp, x, tau) * (t2 - 1.0) / tau)
    )


def _tnfw_deflection(xp, x, y, Rs, alpha_Rs, r_trunc, center_x=0.0, center_y=0.0):
    Rs = xp.asarray(Rs)
    rho0 = _nfw_rho0(alpha_Rs, Rs)
    dx, dy = x - center_x, y - center_y
    R = xp.maximum(xp.sqrt(dx * dx + dy * dy), _TNFW_S * Rs)
    X = xp.maximum(R / Rs, _TNFW_S)
    tau = r_trunc / Rs
    a = 4.0 * rho0 * Rs * _tnfw_g(xp, X, tau) / (X * X)
    return a * dx, a * dy


def _tnfw_convergence(xp, x, y, Rs, alpha_Rs, r_trunc, center_x=0.0, center_y=0.0):
    Rs = xp.asarray(Rs)
    rho0 = _nfw_rho0(alpha_Rs, Rs)
    dx, dy = x - center_x, y - center_y
    X = xp.maximum(xp.sqrt(dx * dx + dy * dy) / Rs, _TNFW_S)
    tau = r_trunc / Rs
    t2 = tau * tau
    F = _tnfw_F(xp, X)
    near = abs(X - 1.0) < _NEAR_ONE
    off = xp.where(near, 2.0, X)
    b = (t2 + 1.0) * xp.where(near, _one_minus_F_over_x2m1(X - 1.0),
                              (1.0 - F) / (off * off - 1.0))
    d = -math.pi / xp.sqrt(t2 + X * X)
    e = (t2 - 1.0) / (tau * xp.sqrt(t2 + X * X)) * _tnfw_L(xp, X, tau)
    return 2.0 * rho0 * Rs * t2 / (t2 + 1.0) ** 2 * (b + 2.0 * F + d + e)


# ---------------------------------------------------------------------------------------------
# SHEAR
# ---------------------------------------------------------------------------------------------
def _shear_deflection(xp, x, y, gamma1, gamma2, ra_0=0.0, dec_0=0.0):
    dx, dy = x - ra_0, y - dec_0
    return gamma1 * dx + gamma2 * dy, gamma2 * dx - gamma1 * dy


def _shear_convergence(xp, x, y, gamma1, gamma2, ra_0=0.0, dec_0=0.0):
    return xp.zeros_like(x + 0.0 * (gamma1 + gamma2))


# name -> (required kwargs, optional kwargs, deflection, convergence)
_REGISTRY: dict[str, tuple[tuple[str, ...], tuple[str, ...], Callable, Callable]] = {
    "SIS": (("theta_E",), ("center_x", "center_y"), _sis_deflection, _sis_convergence),
    "SIE": (("theta_E", "e1", "e2"), ("center_x", "center_y"), _sie_deflection,
            _sie_convergence),
    "NFW": (("Rs", "alpha_Rs"), ("center_x", "center_y"), _nfw_deflection, _nfw_convergence),
    "TNFW": (("Rs", "alpha_Rs", "r_trunc"), ("center_x", "center_y"), _tnfw_deflection,
             _tnfw_convergence),
    "SHEAR": (("gamma1", "gamma2"), ("ra_0", "dec_0"), _shear_deflection, _shear_convergence),
}

#: Supported profile names (lenstronomy spelling).
PROFILES: tuple[str, ...] = tuple(_REGISTRY)


def profile_params(name: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """``(required, optional)`` keyword names of profile ``name``."""
    if name not in _REGISTRY:
        raise ValueError(f"unknown lens profile {name!r}; supported: {', '.join(PROFILES)}")
    required, optional, _, _ = _REGISTRY[name]
    return required, optional


#: profiles whose closed form cancels catastrophically (TNFW at R << Rs: O(1) terms summing
#: to O(X^2 log X)); torch inputs of lower precision are evaluated in float64 and cast back.
_EVALUATE_IN_FLOAT64 = frozenset({"TNFW"})


def _prepare(name: str, x: Array, y: Array, kwargs: dict[str, Array]):
    required, optional = profile_params(name)
    unknown = sorted(set(kwargs) - set(required) - set(optional))
    if unknown:
        raise TypeError(f"{name}: unexpected keyword(s) {unknown}; "
                        f"accepted: {list(required) + list(optional)}")
    missing = [k for k in required if k not in kwargs]
    if missing:
        raise TypeError(f"{name}: missing required keyword(s) {missing}")
    xp = _namespace([x, y, *kwargs.values()])
    out_dtype = None
    if isinstance(xp, _TorchOps) and name in _EVALUATE_IN_FLOAT64 and xp.dtype != torch.float64:
        out_dtype, xp = xp.dtype, _TorchOps(torch.float64, xp.device)
    x = xp.asarray(x)
    y = xp.asarray(y)
    params = {k: xp.asarray(v) for k, v in kwargs.items()}
    return xp, x, y, params, out_dtype


def _cast(value: Array, dtype: torch.dtype | None) -> Array:
    return value if dtype is None else value.to(dtype)


def deflection(name: str, x: Array, y: Array, **kwargs: Array) -> tuple[Array, Array]:
    """Deflection ``(alpha_x, alpha_y)`` of lens profile ``name`` at ``(x, y)``.

    ``name`` and keyword names are lenstronomy's (see the module docstring); a lenstronomy
    user's ``kwargs_lens`` entry works unchanged. ``x``, ``y`` and the keywords may be NumPy
    arrays/scalars (float64 result) or torch tensors (result in the tensors' dtype and device);
    keyword arrays broadcast against ``x``. The lens equation is ``beta = theta - alpha``.
    """
    xp, x, y, params, out_dtype = _prepare(name, x, y, kwargs)
    with np.errstate(divide="ignore", invalid="ignore"):  # branches discarded by where()
        ax, ay = _REGISTRY[name][2](xp, x, y, **params)
    return _cast(ax, out_dtype), _cast(ay, out_dtype)


def convergence(name: str, x: Array, y: Array, **kwargs: Array) -> Array:
    """Convergence ``kappa`` (surface density / critical density) of profile ``name``.

    Analytic for every profile (lenstronomy's ``LensModel.kappa`` is analytic for SIS, NFW,
    TNFW and SHEAR and a 1e-10 finite difference for SIE; we use the closed form of its
    ``NIEMajorAxis.kappa``). Same input rules as :func:`deflection`.
    """
    xp, x, y, params, out_dtype = _prepare(name, x, y, kwargs)
    with np.errstate(divide="ignore", invalid="ignore"):  # branches discarded by where()
        return _cast(_REGISTRY[name][3](xp, x, y, **params), out_dtype)
