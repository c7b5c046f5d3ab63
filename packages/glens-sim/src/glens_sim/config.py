"""Configuration of the lens simulation: one frozen dataclass used by every caller.

Units and conventions (shared by :mod:`glens_sim.raytrace`, :mod:`glens_sim.simulate`):

* Angles are in *normalised units*. Pixel centres of an ``n``-pixel axis are
  ``linspace(-half_width, +half_width, n)``; with the default ``half_width = 1`` this is the
  original work's grid (``x_j = -1 + 2j/(n-1)``), pixel scale ``2/(n-1)``.
* Arrays are indexed ``[row, col] = [y, x]``; ``y`` increases with the row index, ``x`` with the
  column index (``origin='lower'`` in plots).
* The source tensor covers ``[-source_half_width, +source_half_width]`` on both axes with the
  same pixel-centre convention. Channel 0 is surface brightness (flux normalised to [0, 1]),
  channel 1 the normalised line-of-sight velocity.
* Image values are surface brightness (the source's units), not flux per pixel: an unlensed
  image of a source on the same grid equals the source.
* PSF sizes are in image pixels.

The fields up to ``flux_mask_threshold`` are the original ``LensSimConfig`` (same names and
defaults); the remaining ones are additions documented field by field.
"""

from __future__ import annotations

import math
from dataclasses import fields, replace
from typing import Annotated, Literal

import torch
from pydantic import Field, field_validator

from glens_sim.validation import config_dataclass

__all__ = ["LensSimConfig", "GAUSSIAN_FWHM_PER_SIGMA"]

#: FWHM / sigma of a Gaussian, 2 sqrt(2 ln 2).
GAUSSIAN_FWHM_PER_SIGMA = 2.0 * math.sqrt(2.0 * math.log(2.0))

NonNegative = Annotated[float, Field(ge=0)]
Positive = Annotated[float, Field(gt=0)]
Range = tuple[float, float]


@config_dataclass
class LensSimConfig:
    """All parameters of a lensed-image simulation (see the module docstring for units).

    Original fields (the seed's ``LensSimConfig``):

    theta_E_main: Einstein radius of the main lens, normalised units.
    theta_E_sub_factor: subhalo strength as a fraction of ``theta_E_main``: the subhalo's
        Einstein radius (SIS) or its deflection at ``Rs`` (``alpha_Rs``, TNFW).
    subhalo_r_offset_frac: ``(lo, hi)``; with ``subhalo_placement="ring"`` the subhalo sits at
        radius ``theta_E * (1 + f)``, ``f ~ U[lo, hi)``, azimuth ``phi ~ U[0, 2 pi)``.
    psf_sigma: PSF width in image pixels (Gaussian sigma; for Moffat the kernel has the FWHM of
        this Gaussian, ``2.3548 * psf_sigma``). 0 disables the PSF.
    flux_noise_sigma, vel_noise_sigma: standard deviation of the i.i.d. Gaussian noise added to
        the flux and velocity channels after the PSF (normalised units). 0 disables.
    flux_mask_threshold: velocity is kept only where the noise-free, PSF-convolved lensed flux
        is >= this value (normalised flux); elsewhere it is set to ``vel_fill``.

    Added fields:

    grid_size: image side in pixels; ``None`` = same as the source tensor.
    half_width: image pixel centres span ``[-half_width, half_width]``.
    source_half_width: source pixel centres span ``[-source_half_width, source_half_width]``.
    supersampling: rays per pixel per axis (``s*s`` rays at sub-pixel offsets
        ``(k + 0.5)/s - 0.5`` px, averaged; velocity averaged flux-weighted).
    edge: how rays landing outside the source are sampled: ``"zero"`` (bilinear with a ring of
        zeros around the source, as lenstronomy's ``INTERPOL``) or ``"clamp"`` (edge value,
        the original lensed-vs-unlensed script).
    main_profile: ``"SIS"`` or ``"SIE"``.
    theta_E_range: if set, ``theta_E ~ U[lo, hi)`` per sample instead of ``theta_E_main``.
    ellipticity_max: SIE only: ``|e| ~ U[0, ellipticity_max)``, position angle ``U[0, pi)``,
        ``e1 = |e| cos 2phi``, ``e2 = |e| sin 2phi`` (lenstronomy eccentricities).
    shear_max: external shear ``|gamma| ~ U[0, shear_max)`` with a uniform angle, as
        lenstronomy ``SHEAR`` ``gamma1, gamma2``. 0 = no shear component.
    lens_center_jitter: main-lens centre ``~ U[-j, j)`` on each axis.
    subhalo_profile: ``"SIS"`` (original) or ``"TNFW"`` (lenstronomy ``TNFW`` with
        ``Rs = subhalo_Rs``, ``r_trunc = subhalo_r_trunc``, ``alpha_Rs = theta_E_sub_factor *
        theta_E``).
    subhalo_placement: ``"ring"`` (original: radius ``theta_E (1 + f)``, see above) or
        ``"bright"`` (a pixel of the smooth lensed image drawn with probability proportional to
        its flux among pixels >= ``flux_mask_threshold``, i.e. on the arc itself; falls back to
        ``"ring"`` when no pixel qualifies).
    psf_type: ``"gaussian"``, ``"moffat"`` or ``"none"``.
    moffat_beta: Moffat power index.
    psf_truncate: kernel half-size in units of sigma (the Gaussian-equivalent sigma for
        Moffat); lenstronomy's Gaussian PSF uses 5.
    psf_padding: boundary handling of the convolution: ``"replicate"`` (= SciPy/lenstronomy
        ``mode='nearest'``), ``"zeros"`` or ``"symmetric"`` (= SciPy's default ``'reflect'``,
        the original work's blur).
    flux_clip, vel_clip: clip ranges applied after the noise (original: [0, 1.5], [-1.5, 1.5]);
        ``None`` disables.
    vel_fill: value of masked velocity pixels.
    dtype: compute dtype, ``"float32"`` or ``"float64"`` (outputs are float32).
    device: torch device string, e.g. ``"cpu"`` or ``"cuda"``.
    seed: default seed for callers that build their own ``torch.Generator``.
    """

    # --- original fields -------------------------------------------------------------------
    theta_E_main: NonNegative = 0.5
    theta_E_sub_factor: NonNegative = 0.1
    subhalo_r_offset_frac: Range = (0.1, 0.3)
    psf_sigma: NonNegative = 1.0
    flux_noise_sigma: NonNegative = 0.08
    vel_noise_sigma: NonNegative = 0.03
    flux_mask_threshold: float = 0.1
    # --- grid and sampling -----------------------------------------------------------------
    grid_size: Annotated[int, Field(ge=2)] | None = None
    half_width: Positive = 1.0
    source_half_width: Positive = 1.0
    supersampling: Annotated[int, Field(ge=1)] = 1
    edge: Literal["zero", "clamp"] = "zero"
    # --- main lens -------------------------------------------------------------------------
    main_profile: Literal["SIS", "SIE"] = "SIS"
    theta_E_range: Range | None = None
    ellipticity_max: Annotated[float, Field(ge=0, lt=1)] = 0.0
    shear_max: NonNegative = 0.0
    lens_center_jitter: NonNegative = 0.0
    # --- subhalo ---------------------------------------------------------------------------
    subhalo_profile: Literal["SIS", "TNFW"] = "SIS"
    subhalo_placement: Literal["ring", "bright"] = "ring"
    subhalo_Rs: Positive = 0.05
    subhalo_r_trunc: Positive = 0.2
    # --- PSF, noise, masking ---------------------------------------------------------------
    psf_type: Literal["gaussian", "moffat", "none"] = "gaussian"
    moffat_beta: Positive = 2.5
    psf_truncate: Positive = 5.0
    psf_padding: Literal["replicate", "zeros", "symmetric"] = "replicate"
    flux_clip: Range | None = (0.0, 1.5)
    vel_clip: Range | None = (-1.5, 1.5)
    vel_fill: float = 0.0
    # --- numerics --------------------------------------------------------------------------
    dtype: Literal["float32", "float64"] = "float32"
    device: str = "cpu"
    seed: int = 42

    @field_validator("subhalo_r_offset_frac", "theta_E_range", "flux_clip", "vel_clip")
    @classmethod
    def _ordered(cls, value: Range | None) -> Range | None:
        if value is not None and not value[0] <= value[1]:
            raise ValueError(f"must be a (lo, hi) pair with lo <= hi, got {value}")
        return value

    @field_validator("device")
    @classmethod
    def _torch_device(cls, value: str) -> str:
        try:
            torch.device(value)
        except RuntimeError as exc:
            raise ValueError(str(exc)) from None
        return value

    # --- derived quantities ----------------------------------------------------------------
    @property
    def torch_dtype(self) -> torch.dtype:
        """The compute dtype as a ``torch.dtype``."""
        return torch.float64 if self.dtype == "float64" else torch.float32

    @property
    def psf_fwhm(self) -> float:
        """PSF FWHM in image pixels (0 when the PSF is disabled)."""
        if self.psf_type == "none":
            return 0.0
        return GAUSSIAN_FWHM_PER_SIGMA * self.psf_sigma

    def pixel_scale(self, n: int) -> float:
        """Image pixel scale (normalised units per pixel) for an ``n``-pixel grid."""
        return 2.0 * self.half_width / (n - 1)

    def replace(self, **changes: object) -> LensSimConfig:
        """A copy with ``changes`` applied (validated like the constructor).

        Raises ``TypeError`` for an unknown field name, ``ValueError`` for a bad value.
        """
        unknown = set(changes) - {f.name for f in fields(self)}
        if unknown:
            raise TypeError(f"LensSimConfig has no field(s) {sorted(unknown)}")
        return replace(self, **changes)

    def to_dict(self) -> dict[str, object]:
        """Plain ``dict`` of all fields (tuples kept), e.g. for logging as parameters."""
        return {f.name: getattr(self, f.name) for f in fields(self)}
