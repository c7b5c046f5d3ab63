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

import contextlib
import math
from collections.abc import Callable
from typing import Any, NamedTuple

import numpy as np
import torch

__all__ = ["PROFILES", "deflection", "convergence", "hessian", "profile_params"]

Array = Any  # numpy.ndarray | torch.Tensor


class _NumpyOps:
    """NumPy implementation of the handful of functions the formulas need."""

    #: cap of an axis ratio (lenstronomy's 0.99999999: keeps sqrt(1 - q^2) > 0)
    almost_one = 0.99999999
    #: smallest normal float64
    tiny = float(np.finfo(np.float64).tiny)
    #: float64 machine epsilon
    eps = float(np.finfo(np.float64).eps)
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

    @staticmethod
    def needs_grad(*values: Array) -> bool:
        """NumPy records no gradients."""
        return False


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
        self.eps = float(torch.finfo(dtype).eps)

    def asarray(self, value: Array) -> torch.Tensor:
        return torch.as_tensor(value, dtype=self.dtype, device=self.device)

    @staticmethod
    def needs_grad(*values: Array) -> bool:
        """Whether autograd will differentiate through ``values`` (tensor metadata only: no
        value is read, so no host-device synchronisation)."""
        return torch.is_grad_enabled() and any(
            isinstance(v, torch.Tensor) and v.requires_grad for v in values)

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


def _radial_hessian(xp, dx, dy, a, kappa, r2_floor):
    """Hessian of a circular lens from ``a = alpha(R)/R`` and ``kappa(R)``.

    With ``alpha = a(R) (dx, dy)`` and ``kappa = (alpha/R + d alpha/dR)/2``:
    ``f_ij = a delta_ij + (2 kappa - 2 a) d_i d_j / R^2``, R^2 floored at ``r2_floor`` (the
    profile's own small-radius clamp), so the centre gives ``a delta_ij`` without a branch and
    with finite autograd.
    """
    inv_r2 = 1.0 / xp.maximum(dx * dx + dy * dy, r2_floor)
    t = (2.0 * kappa - 2.0 * a) * inv_r2
    f_xy = t * dx * dy
    return a + t * dx * dx, f_xy, f_xy, a + t * dy * dy


def _sis_hessian(xp, x, y, theta_E, center_x=0.0, center_y=0.0):
    dx, dy = x - center_x, y - center_y
    inv_r = xp.rsqrt(dx * dx + (dy * dy + xp.tiny))
    a = theta_E * inv_r
    return _radial_hessian(xp, dx, dy, a, 0.5 * a, xp.tiny)


# ---------------------------------------------------------------------------------------------
# SIE (lenstronomy SIE = NIE with s_scale = 1e-10)
# ---------------------------------------------------------------------------------------------
_SIE_S_SCALE = 1e-10


def _sie_split(xp, e1, e2):
    """Switch between the exact SIE and its expansion around the round lens, per sample.

    ``atan2(e2, e1)`` and ``|e|`` have no derivative at ``e = 0`` although the deflection is a
    smooth function of ``(e1, e2)`` there. When autograd differentiates with respect to
    ``e1``/``e2`` (tensor metadata, no value is read), samples with ``|e| < sqrt(eps)`` of the
    dtype use the first-order expansion :func:`_sie_round_deflection` (error O(|e|^2) < eps)
    and the exact branch gets a harmless stand-in ellipticity (the "double where": a branch
    discarded by ``where`` must not produce NaN gradients either). Otherwise (NumPy, inference)
    the exact form alone is evaluated, its axis ratio capped below 1 as lenstronomy's (values
    agree with the expansion to ~1e-8 relative in float64). Returns ``(round_ or None, e1, e2)``.
    """
    e1 = xp.asarray(e1)
    e2 = xp.asarray(e2)
    if not xp.needs_grad(e1, e2):
        return None, e1, e2
    round_ = e1 * e1 + e2 * e2 < xp.eps
    return round_, xp.where(round_, 0.5, e1), xp.where(round_, 0.0, e2)


def _sie_geometry(xp, theta_E, e1, e2):
    """Orientation phi, axis ratio q, major-axis normalisation b and smoothing s."""
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


def _sie_round_terms(xp, dx, dy, e1, e2):
    """``1/r`` (smoothed like the SIE) and ``W = e1 (x^2 - y^2) + 2 e2 x y`` of the expansion."""
    inv_r = xp.rsqrt(dx * dx + (dy * dy + _SIE_S_SCALE**2))
    return inv_r, e1 * (dx * dx - dy * dy) + 2.0 * e2 * dx * dy


def _sie_round_deflection(xp, dx, dy, theta_E, e1, e2):
    """SIE deflection to first order in ``(e1, e2)`` (derived here; checked against the exact
    form and lenstronomy in the tests): with ``kappa = theta_E/(2r) (1 + W/r^2)`` the potential
    is ``theta_E r - theta_E/3 [e1 (x^2-y^2) + 2 e2 x y]/r``, whose gradient is returned."""
    inv_r, w = _sie_round_terms(xp, dx, dy, e1, e2)
    w3 = w * inv_r * inv_r
    ax = theta_E * inv_r * (dx - (2.0 * (e1 * dx + e2 * dy) - w3 * dx) / 3.0)
    ay = theta_E * inv_r * (dy - (2.0 * (e2 * dx - e1 * dy) - w3 * dy) / 3.0)
    return ax, ay


def _sie_deflection(xp, x, y, theta_E, e1, e2, center_x=0.0, center_y=0.0):
    round_, e1s, e2s = _sie_split(xp, e1, e2)
    dx, dy = x - center_x, y - center_y
    phi, q, b, s = _sie_geometry(xp, theta_E, e1s, e2s)
    q = xp.minimum(q, xp.almost_one)
    root = xp.sqrt(1.0 - q * q)
    cos, sin = xp.cos(phi), xp.sin(phi)
    # major-axis frame (xr, yr) = R(phi) (dx, dy); per-sample factors are folded into the
    # rotation coefficients so that each full-size array is made by one pass over sparse grids
    qxr = dx * (q * cos) + dy * (q * sin)
    rxr = dx * (root * cos) + dy * (root * sin)
    yr = dy * cos - dx * sin
    psi = xp.sqrt(qxr * qxr + yr * yr + (q * s) ** 2)  # sqrt(q^2 (s^2 + xr^2) + yr^2)
    t_x = xp.arctan2(rxr, psi + s)  # = atan(rxr/(psi + s)), psi + s > 0; no division
    t_y = xp.arctanh(root * yr / (psi + q * q * s))
    # alpha = (b/root) R(-phi) (t_x, t_y)
    k_c, k_s = b / root * cos, b / root * sin
    ax, ay = k_c * t_x - k_s * t_y, k_s * t_x + k_c * t_y
    if round_ is None:
        return ax, ay
    rx, ry = _sie_round_deflection(xp, dx, dy, theta_E, xp.where(round_, e1, 0.0),
                                   xp.where(round_, e2, 0.0))
    return xp.where(round_, rx, ax), xp.where(round_, ry, ay)


def _sie_hessian(xp, x, y, theta_E, e1, e2, center_x=0.0, center_y=0.0):
    """Analytic derivatives of the NIE deflection in the major-axis frame (lenstronomy takes a
    finite difference of the same deflection), rotated back as lenstronomy's ``NIE.hessian``:
    ``f_xx = b [psi + s - q^2 x^2/psi] / [(psi + s)^2 + (1 - q^2) x^2]``,
    ``f_yy = b [psi + q^2 s - y^2/psi] / [(psi + q^2 s)^2 - (1 - q^2) y^2]``,
    ``f_xy = -b x y / psi / [(psi + s)^2 + (1 - q^2) x^2]``. Near-round lenses use the
    hessian of the first-order expansion, ``2 kappa / r^2 [[y^2, -xy], [-xy, x^2]]``."""
    round_, e1s, e2s = _sie_split(xp, e1, e2)
    dx, dy = x - center_x, y - center_y
    phi, q, b, s = _sie_geometry(xp, theta_E, e1s, e2s)
    xr, yr = _rotate(xp, dx, dy, phi)
    q2 = q * q
    psi = xp.sqrt(q2 * (s * s + xr * xr) + yr * yr)
    den_x = (psi + s) ** 2 + (1.0 - q2) * xr * xr
    den_y = (psi + q2 * s) ** 2 - (1.0 - q2) * yr * yr
    fxx = b * (psi + s - q2 * xr * xr / psi) / den_x
    fyy = b * (psi + q2 * s - yr * yr / psi) / den_y
    fxy = -b * xr * yr / psi / den_x
    kappa, g1, g2 = (fxx + fyy) / 2.0, (fxx - fyy) / 2.0, fxy
    c2, s2 = xp.cos(2.0 * phi), xp.sin(2.0 * phi)
    gamma1, gamma2 = c2 * g1 - s2 * g2, s2 * g1 + c2 * g2
    if round_ is None:
        return kappa + gamma1, gamma2, gamma2, kappa - gamma1
    inv_r, w = _sie_round_terms(xp, dx, dy, xp.where(round_, e1, 0.0), xp.where(round_, e2, 0.0))
    inv_r2 = inv_r * inv_r
    t = theta_E * inv_r * inv_r2 * (1.0 + w * inv_r2)  # 2 kappa / r^2
    rxy = -t * dx * dy
    f_xx = xp.where(round_, t * dy * dy, kappa + gamma1)
    f_yy = xp.where(round_, t * dx * dx, kappa - gamma1)
    f_xy = xp.where(round_, rxy, gamma2)
    return f_xx, f_xy, f_xy, f_yy


def _sie_convergence(xp, x, y, theta_E, e1, e2, center_x=0.0, center_y=0.0):
    e1 = xp.asarray(e1)
    e2 = xp.asarray(e2)
    # kappa = theta_E/2 / sqrt(q x'^2 + y'^2/q) (+ smoothing): written with lenstronomy's
    # product-average transform, smooth in (e1, e2) (no atan2), = b/2/sqrt(q^2 x'^2 + y'^2)
    dx, dy = x - center_x, y - center_y
    c2 = xp.minimum(e1 * e1 + e2 * e2, 0.9999**2)
    c = xp.sqrt(c2 + xp.tiny)
    q = (1.0 - c) / (1.0 + c)
    norm = xp.rsqrt(1.0 - c2)
    u = ((1.0 - e1) * dx - e2 * dy) * norm
    v = (-e2 * dx + (1.0 + e1) * dy) * norm
    s = _SIE_S_SCALE / xp.sqrt(q)
    return theta_E / 2.0 * xp.rsqrt(u * u + v * v + q * s * s)
# ---------------------------------------------------------------------------------------------
# NFW
# ---------------------------------------------------------------------------------------------
def _nfw_rho0(alpha_Rs, Rs):
    return alpha_Rs / (4.0 * Rs * Rs * (1.0 + math.log(0.5)))


def _nfw_h(xp, X):
    """The classic NFW function ``h(X) = arctanh(s)/s`` (X < 1) or ``arctan(s)/s`` (X > 1),
    ``s = sqrt(|1 - X^2|)``, for ``X > 0``.

    Both forms are the one power series ``sum_k u^k/(2k + 1)`` in ``u = 1 - X^2``, summed to
    ``k = 6`` for ``|u| < 0.02`` (truncation error < 2e-13), where the closed forms are 0/0;
    every branch is fed a safe argument where it is not used, so autograd stays finite and
    exact across X = 1 (no constant patch with a zero derivative).
    """
    u = 1.0 - X * X
    near = abs(u) < 0.02
    lo = xp.where((X < 1) & ~near, X, 0.5)
    hi = xp.where((X > 1) & ~near, X, 2.0)
    un = xp.where(near, u, 0.0)
    s_lo = xp.sqrt(1.0 - lo * lo)
    s_hi = xp.sqrt(hi * hi - 1.0)
    series = 1.0 + un * (1 / 3 + un * (1 / 5 + un * (1 / 7 + un * (1 / 9 + un * (
        1 / 11 + un / 13)))))
    far = xp.where(X < 1, xp.arctanh(s_lo) / s_lo, xp.arctan(s_hi) / s_hi)
    return xp.where(near, series, far)


def _nfw_g(xp, X):
    """lenstronomy ``NFW._g`` (projected mass function), ``X = R/Rs >= 1e-6``.

    lenstronomy evaluates ``log(X/2) + arccosh(1/X)/sqrt(1-X^2)`` (and the ``arccos`` form for
    X > 1), which cancels catastrophically for X << 1 and is 0/0 at X -> 1 (in float32 it is
    wrong by percents there). We evaluate the same function in cancellation-free forms, with
    ``s = sqrt(1 - X^2)``: for X < 0.5
    ``[log(2/X) X^2/(1+s) + log1p(-X^2/(2(1+s)))] / s``, else ``log(X/2) + h(X)``
    (:func:`_nfw_h`).
    """
    small = xp.where(X < 0.5, X, 0.25)
    big = xp.where(X < 0.5, 0.75, X)
    s_small = xp.sqrt(1.0 - small * small)
    x2 = small * small
    g_small = (xp.log(2.0 / small) * x2 / (1.0 + s_small)
               + xp.log1p(-x2 / (2.0 * (1.0 + s_small)))) / s_small
    return xp.where(X < 0.5, g_small, xp.log(big / 2.0) + _nfw_h(xp, big))


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


def _nfw_a(xp, dx, dy, Rs, alpha_Rs):
    """``alpha(R)/R`` of the NFW at offsets ``(dx, dy)`` (lenstronomy's clamps R >= 1e-8,
    R/Rs >= 1e-6; R from the clamped R^2 so that autograd is finite at the centre)."""
    rho0 = _nfw_rho0(alpha_Rs, Rs)
    Rs = xp.maximum(xp.asarray(Rs), 1e-7)
    R = xp.sqrt(xp.maximum(dx * dx + dy * dy, 1e-16))
    X = xp.maximum(R / Rs, 1e-6)
    return 4.0 * rho0 * Rs * _nfw_g(xp, X) / (X * X)


def _nfw_deflection(xp, x, y, Rs, alpha_Rs, center_x=0.0, center_y=0.0):
    dx, dy = x - center_x, y - center_y
    a = _nfw_a(xp, dx, dy, Rs, alpha_Rs)
    return a * dx, a * dy


def _nfw_hessian(xp, x, y, Rs, alpha_Rs, center_x=0.0, center_y=0.0):
    dx, dy = x - center_x, y - center_y
    kappa = _nfw_convergence(xp, x, y, Rs, alpha_Rs, center_x, center_y)
    return _radial_hessian(xp, dx, dy, _nfw_a(xp, dx, dy, Rs, alpha_Rs), kappa, 1e-16)


def _nfw_convergence(xp, x, y, Rs, alpha_Rs, center_x=0.0, center_y=0.0):
    rho0 = _nfw_rho0(alpha_Rs, Rs)
    Rs = xp.maximum(xp.asarray(Rs), 1e-7)
    dx, dy = x - center_x, y - center_y
    r2 = dx * dx + dy * dy
    # X = 0 takes _nfw_F's centre value; the square root gets a safe argument there so
    # that autograd stays finite (a discarded where() branch must not be NaN)
    R = xp.sqrt(xp.where(r2 > 0, r2, 1.0))
    return 2.0 * rho0 * Rs * _nfw_F(xp, xp.where(r2 > 0, R / Rs, 0.0))


# ---------------------------------------------------------------------------------------------
# TNFW (lenstronomy TNFW; all radii in units of Rs clamped at 0.001)
# ---------------------------------------------------------------------------------------------
_TNFW_S = 0.001


def _tnfw_F(xp, x):
    """Classic NFW function ``arctanh(sqrt(1-x^2))/sqrt(1-x^2)`` (``arctan`` form for x>1),
    i.e. :func:`_nfw_h` at ``max(x, 0.001)``."""
    return _nfw_h(xp, xp.maximum(x, _TNFW_S))


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


def _tnfw_a(xp, dx, dy, Rs, alpha_Rs, r_trunc):
    """``alpha(R)/R`` of the TNFW (lenstronomy's clamp R >= 0.001 Rs, applied to R^2 so
    that autograd is finite at the centre)."""
    Rs = xp.asarray(Rs)
    rho0 = _nfw_rho0(alpha_Rs, Rs)
    X = xp.sqrt(xp.maximum(dx * dx + dy * dy, (_TNFW_S * Rs) ** 2)) / Rs
    return 4.0 * rho0 * Rs * _tnfw_g(xp, X, r_trunc / Rs) / (X * X)


def _tnfw_deflection(xp, x, y, Rs, alpha_Rs, r_trunc, center_x=0.0, center_y=0.0):
    dx, dy = x - center_x, y - center_y
    a = _tnfw_a(xp, dx, dy, Rs, alpha_Rs, r_trunc)
    return a * dx, a * dy


def _tnfw_hessian(xp, x, y, Rs, alpha_Rs, r_trunc, center_x=0.0, center_y=0.0):
    dx, dy = x - center_x, y - center_y
    kappa = _tnfw_convergence(xp, x, y, Rs, alpha_Rs, r_trunc, center_x, center_y)
    return _radial_hessian(xp, dx, dy, _tnfw_a(xp, dx, dy, Rs, alpha_Rs, r_trunc), kappa,
                           (_TNFW_S * xp.asarray(Rs)) ** 2)


def _tnfw_convergence(xp, x, y, Rs, alpha_Rs, r_trunc, center_x=0.0, center_y=0.0):
    Rs = xp.asarray(Rs)
    rho0 = _nfw_rho0(alpha_Rs, Rs)
    dx, dy = x - center_x, y - center_y
    X = xp.sqrt(xp.maximum(dx * dx + dy * dy, (_TNFW_S * Rs) ** 2)) / Rs
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


def _shear_hessian(xp, x, y, gamma1, gamma2, ra_0=0.0, dec_0=0.0):
    zero = 0.0 * (x + y + ra_0 + dec_0)
    g1, g2 = gamma1 + zero, gamma2 + zero
    return g1, g2, g2, -g1


class _Profile(NamedTuple):
    required: tuple[str, ...]
    optional: tuple[str, ...]
    deflection: Callable
    convergence: Callable
    hessian: Callable


_REGISTRY: dict[str, _Profile] = {
    "SIS": _Profile(("theta_E",), ("center_x", "center_y"), _sis_deflection, _sis_convergence,
                    _sis_hessian),
    "SIE": _Profile(("theta_E", "e1", "e2"), ("center_x", "center_y"), _sie_deflection,
                    _sie_convergence, _sie_hessian),
    "NFW": _Profile(("Rs", "alpha_Rs"), ("center_x", "center_y"), _nfw_deflection,
                    _nfw_convergence, _nfw_hessian),
    "TNFW": _Profile(("Rs", "alpha_Rs", "r_trunc"), ("center_x", "center_y"),
                     _tnfw_deflection, _tnfw_convergence, _tnfw_hessian),
    "SHEAR": _Profile(("gamma1", "gamma2"), ("ra_0", "dec_0"), _shear_deflection,
                      _shear_convergence, _shear_hessian),
}

#: Supported profile names (lenstronomy spelling).
PROFILES: tuple[str, ...] = tuple(_REGISTRY)


def profile_params(name: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """``(required, optional)`` keyword names of profile ``name``."""
    if name not in _REGISTRY:
        raise ValueError(f"unknown lens profile {name!r}; supported: {', '.join(PROFILES)}")
    return _REGISTRY[name].required, _REGISTRY[name].optional


#: profiles whose closed form cancels catastrophically (TNFW at R << Rs: O(1) terms summing
#: to O(X^2 log X); NFW's F(X) = (1 - h(X))/(X^2 - 1) loses ~eps/X^2 at X -> 0 and its
#: arctanh(sqrt((1-X)/(1+X))) ~eps/X: 7e-3 relative in float32 at X = 2e-7); torch inputs of
#: lower precision are evaluated in float64 and cast back.
_EVALUATE_IN_FLOAT64 = frozenset({"NFW", "TNFW"})


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


def _quiet(xp: _NumpyOps | _TorchOps):
    """Silence NumPy's warnings from branches that ``where()`` discards (torch has none, and a
    no-op context lets ``torch.compile`` trace the call without a graph break)."""
    if isinstance(xp, _NumpyOps):
        return np.errstate(divide="ignore", invalid="ignore", over="ignore")
    return contextlib.nullcontext()


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
    with _quiet(xp):
        ax, ay = _REGISTRY[name].deflection(xp, x, y, **params)
    return _cast(ax, out_dtype), _cast(ay, out_dtype)


def convergence(name: str, x: Array, y: Array, **kwargs: Array) -> Array:
    """Convergence ``kappa`` (surface density / critical density) of profile ``name``.

    Analytic for every profile (lenstronomy's ``LensModel.kappa`` is analytic for SIS, NFW,
    TNFW and SHEAR and a 1e-10 finite difference for SIE; we use the closed form of its
    ``NIEMajorAxis.kappa``). Same input rules as :func:`deflection`.
    """
    xp, x, y, params, out_dtype = _prepare(name, x, y, kwargs)
    with _quiet(xp):
        return _cast(_REGISTRY[name].convergence(xp, x, y, **params), out_dtype)


def hessian(name: str, x: Array, y: Array, **kwargs: Array) -> tuple[Array, Array, Array, Array]:
    """Hessian ``(f_xx, f_xy, f_yx, f_yy)`` of the lensing potential of profile ``name``.

    Same names, keywords, input rules and return order as lenstronomy's
    ``LensModel.hessian``; ``f_xy = f_yx`` (returned twice). Analytic for every profile: SIS,
    NFW and TNFW from ``alpha(R)/R`` and ``kappa`` (circular lenses), SHEAR constant, SIE from
    the derivatives of Keeton & Kochanek's (1998) deflection (lenstronomy differentiates it
    numerically). Convergence ``(f_xx + f_yy)/2``, shear ``((f_xx - f_yy)/2, f_xy)`` and
    magnification ``1/((1 - f_xx)(1 - f_yy) - f_xy f_yx)`` of a lens follow
    (:mod:`glens_sim.lensing`).
    """
    xp, x, y, params, out_dtype = _prepare(name, x, y, kwargs)
    with _quiet(xp):
        out = _REGISTRY[name].hessian(xp, x, y, **params)
    return tuple(_cast(v, out_dtype) for v in out)  # type: ignore[return-value]
