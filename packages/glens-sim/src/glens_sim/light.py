"""Analytic light profiles at ray positions (torch): the elliptical Sérsic.

Keyword names are lenstronomy's ``SERSIC_ELLIPSE`` (``amp, R_sersic, n_sersic, e1, e2,
center_x, center_y``) with one difference: **``amp`` is the total flux** of the (untruncated)
profile, so a source given in nanomaggies has a surface brightness in nMgy/arcsec², and
surface brightness × pixel area is nMgy per pixel.

Profile (lenstronomy ``SersicElliptic`` with ``sersic_major_axis=False``, its default):
``I(R) = I_e exp(-b_n [(R/R_sersic)^(1/n) - 1])`` with lenstronomy's ``b_n = 1.9992 n -
0.3271`` (floored at 1e-5) and the product-average elliptical radius ``R^2 = u^2 + v^2``,
``u = ((1 - e1) dx - e2 dy)/N``, ``v = (-e2 dx + (1 + e1) dy)/N``, ``N = sqrt(max(|1 - e1^2 -
e2^2|, 1e-6))`` (lenstronomy ``param_util.transform_e1e2_product_average``: a unit-determinant
map, so ellipses of constant R enclose area pi R^2 and ``R_sersic`` is the circularised radius;
smooth in ``(e1, e2)``, no angle). R and R_sersic are floored at lenstronomy's smoothing 1e-4
(arcsec); lenstronomy's cut at ``R > 1000 R_sersic`` is not applied (it removes < 1e-30 of the
flux for n <= 4).

Total flux (Graham & Driver 2005, eq. 4, which lenstronomy's ``SersicUtil.total_flux`` also
evaluates; exact for this profile whatever b_n approximation is used):
``F = I_e R_sersic^2 2 pi n e^(b_n) Gamma(2n) / b_n^(2n)``. Hence lenstronomy's ``amp``
(surface brightness at R_sersic) is ``I_e = F / (2 pi n e^(b_n) Gamma(2n) b_n^(-2n)
R_sersic^2)`` (:func:`lenstronomy_amp`).
"""

from __future__ import annotations

import math

import torch

__all__ = ["sersic_b_n", "sersic_log_ie_per_flux", "lenstronomy_amp", "sersic_ellipse",
           "SersicShape", "sersic_shape"]

#: lenstronomy's floor on R and R_sersic (``SersicUtil`` smoothing), arcsec
_SMOOTHING = 1e-4


def sersic_b_n(n_sersic: torch.Tensor) -> torch.Tensor:
    """lenstronomy's ``b_n = max(1.9992 n - 0.3271, 1e-5)`` (Capaccioli 1989 fit)."""
    return torch.clamp(1.9992 * n_sersic - 0.3271, min=1e-5)


def sersic_log_ie_per_flux(R_sersic: torch.Tensor, n_sersic: torch.Tensor) -> torch.Tensor:
    """``log I_e`` of a Sérsic of unit total flux: ``-log(2 pi n e^(b_n) Gamma(2n) b_n^(-2n)
    R_sersic^2)`` (per arcsec² if ``R_sersic`` is in arcsec)."""
    b = sersic_b_n(n_sersic)
    r = torch.clamp(R_sersic, min=_SMOOTHING)
    return -(math.log(2.0 * math.pi) + torch.log(n_sersic) + b + torch.lgamma(2.0 * n_sersic)
             - 2.0 * n_sersic * torch.log(b) + 2.0 * torch.log(r))


def lenstronomy_amp(amp, R_sersic, n_sersic):
    """lenstronomy ``SERSIC_ELLIPSE`` ``amp`` (surface brightness at R_sersic) of a Sérsic of
    total flux ``amp``; floats, NumPy arrays or tensors (returned as float / ndarray / tensor)."""
    as_tensor = [isinstance(v, torch.Tensor) for v in (amp, R_sersic, n_sersic)]
    t = [torch.as_tensor(v, dtype=torch.float64) for v in (amp, R_sersic, n_sersic)]
    out = t[0] * torch.exp(sersic_log_ie_per_flux(t[1], t[2]))
    if any(as_tensor):
        return out
    return float(out) if out.ndim == 0 else out.numpy()


class SersicShape:
    """Per-sample constants of elliptical Sérsic profiles, computed once and reused for every
    band and every evaluation (lensed and unlensed): the quadratic form of ``R^2``, ``1/(2n)``,
    ``log R_sersic / n``, ``b_n`` and ``log I_e + b_n`` for unit flux. Build with
    :func:`sersic_shape`; evaluate with :meth:`unit_flux_brightness`."""

    def __init__(self, R_sersic: torch.Tensor, n_sersic: torch.Tensor, e1: torch.Tensor,
                 e2: torch.Tensor, center_x: torch.Tensor, center_y: torch.Tensor) -> None:
        norm2 = torch.clamp(torch.abs(1.0 - e1 * e1 - e2 * e2), min=1e-6)
        # R^2 = cxx dx^2 + cyy dy^2 + cxy dx dy (expanded product-average transform)
        self.cxx = ((1.0 - e1) ** 2 + e2 * e2) / norm2
        self.cyy = ((1.0 + e1) ** 2 + e2 * e2) / norm2
        self.cxy = -4.0 * e2 / norm2
        self.half_inv_n = 0.5 / n_sersic
        self.neg_log_rs_over_n = -torch.log(torch.clamp(R_sersic, min=_SMOOTHING)) / n_sersic
        b_n = sersic_b_n(n_sersic)
        self.neg_b_n = -b_n
        self.log_peak = sersic_log_ie_per_flux(R_sersic, n_sersic) + b_n
        self.center_x = center_x
        self.center_y = center_y

    def unit_flux_brightness(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """Surface brightness (per arcsec²) of unit total flux at ``(x, y)``.

        The per-sample constants have shape ``(B, 1, 1)`` (or broadcast with ``x``); ``x, y``
        broadcast to ``(B, H, W)``.
        """
        return self.at_offsets(x - self.center_x, y - self.center_y)

    def at_offsets(self, dx: torch.Tensor, dy: torch.Tensor) -> torch.Tensor:
        """As :meth:`unit_flux_brightness`, at offsets ``(dx, dy)`` from the source centre."""
        # R^2 = cyy dy^2 + dx (cxx dx + cxy dy): fused multiply-adds
        r2 = torch.addcmul((self.cyy * dy) * dy, dx, torch.addcmul(self.cxx * dx, self.cxy, dy))
        # (R/R_s)^(1/n) = exp(log(R^2)/(2n) - log(R_s)/n); I = exp(log_peak - b_n (R/R_s)^(1/n))
        t = torch.exp(torch.addcmul(self.neg_log_rs_over_n,
                                    torch.log(torch.clamp(r2, min=_SMOOTHING**2)),
                                    self.half_inv_n))
        return torch.exp(torch.addcmul(self.log_peak, t, self.neg_b_n))


def sersic_shape(R_sersic: torch.Tensor, n_sersic: torch.Tensor, e1: torch.Tensor,
                 e2: torch.Tensor, center_x: torch.Tensor, center_y: torch.Tensor,
                 ndim: int = 2) -> SersicShape:
    """:class:`SersicShape` of per-sample ``(B,)`` tensors (or floats), viewed as
    ``(B, 1, ..., 1)`` with ``ndim`` trailing singleton axes for broadcasting on images."""
    ref = next((v for v in (R_sersic, n_sersic, e1, e2, center_x, center_y)
                if isinstance(v, torch.Tensor)), None)
    dtype = ref.dtype if ref is not None and ref.is_floating_point() else torch.float64
    device = ref.device if ref is not None else "cpu"

    def view(v):
        t = torch.as_tensor(v, dtype=dtype, device=device)
        return t.reshape(-1, *([1] * ndim)) if t.ndim == 1 else t

    return SersicShape(*(view(v) for v in (R_sersic, n_sersic, e1, e2, center_x, center_y)))


def sersic_ellipse(x: torch.Tensor, y: torch.Tensor, amp, R_sersic, n_sersic, e1, e2,
                   center_x=0.0, center_y=0.0) -> torch.Tensor:
    """Elliptical Sérsic surface brightness at ``(x, y)`` (per unit area of ``x, y``).

    ``amp`` is the total flux (see the module docstring; lenstronomy's ``amp`` is
    :func:`lenstronomy_amp` of it). Keywords are floats or tensors broadcastable against
    ``x``/``y`` (e.g. ``(B, 1, 1)`` on ``(B, H, W)``); ``(B,)`` tensors are viewed as
    ``(B, 1, ..., 1)``. Returns a tensor of the broadcast shape in ``x``'s dtype.
    """
    x = torch.as_tensor(x)
    ndim = max(x.ndim, torch.as_tensor(y).ndim)
    shape = sersic_shape(*(torch.as_tensor(v, dtype=x.dtype, device=x.device)
                           for v in (R_sersic, n_sersic, e1, e2, center_x, center_y)),
                         ndim=ndim)
    amp = torch.as_tensor(amp, dtype=x.dtype, device=x.device)
    amp = amp.reshape(-1, *([1] * ndim)) if amp.ndim == 1 else amp
    return amp * shape.unit_flux_brightness(x, y)
