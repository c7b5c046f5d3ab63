"""Stamp normalisations: one public function, the variant as a parameter.

``preprocess(stamps, method, **options)`` is the single entry point used by the training data path *and* by
dhs-gates, so a gate sees exactly the model input. It accepts ``(N, C, H, W)`` NumPy arrays or torch tensors and
returns the same kind. Importing this module does not import torch (dhs-gates stays torch-free); tensors are
detected by their type's module and converted through NumPy, so the arithmetic is written once.

Methods (spec ``dhs.md`` §3.1–3.2, the successor variant of the upstream normalisations):

``raw_robust``
    Per stamp and band, ``(x - median_A) / (MAD_A + eps)`` where ``A`` is the outer annulus
    ``r_in <= r < r_out`` around the centre pixel ``(H // 2, W // 2)``; MAD is the raw median absolute deviation
    (``mad_scale="raw"``, the experiment-matrix convention) or ``1.4826 * MAD`` (``"normal"``); NaN/Inf pixels are
    ignored in the statistics, the result is clipped to ``±clip`` and non-finite outputs become 0.
    Default region: ``20 <= r < 32`` px for 64×64 stamps (the upstream constant); for any other size the
    successor's scaling ``r_in = 0.65 R``, ``r_out = 0.90 R`` with ``R = min(H, W) // 2``.
``residual_radial_profile``
    ``raw_robust`` first, then per band the azimuthal median profile ``P[k] = median{x_n(p) : k <= r(p) < k+1}``
    for ``k = 0 … K-1`` (``K = R`` by default) is subtracted: ``x_n - P[min(floor(r), K-1)]`` (pixels beyond the
    last ring, i.e. the corners, use ``P[K-1]``). Ring 0 is the single centre pixel, so its residual is 0 by
    construction.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, Literal, TypeVar

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator

if TYPE_CHECKING:  # pragma: no cover
    import torch

__all__ = ["METHODS", "RawRobustOptions", "ResidualRadialProfileOptions", "preprocess", "radius_image"]

_MAD_NORMAL = 1.4826  # 1 / Phi^-1(3/4): MAD -> sigma for Gaussian noise
ArrayT = TypeVar("ArrayT", "np.ndarray", "torch.Tensor")


class RawRobustOptions(BaseModel):
    """Options of ``raw_robust`` (validated; unknown names are refused).

    Attributes
    ----------
    r_in, r_out : float or None
        Inner (inclusive) and outer (exclusive) radius of the statistics annulus, pixels from ``(H // 2, W // 2)``.
        ``None``: 20 / 32 for 64×64 stamps, otherwise ``0.65 R`` / ``0.90 R`` with ``R = min(H, W) // 2``.
    clip : float or None
        Symmetric clip of the normalised values; ``None`` disables it. Default 10 (successor).
    mad_scale : {"raw", "normal"}
        ``"raw"``: MAD as is (upstream ``raw_robust``); ``"normal"``: ``1.4826 * MAD`` (a Gaussian sigma).
    eps : float
        Added to the scale to avoid division by zero.
    nan_to_zero : bool
        Replace non-finite outputs (NaN/Inf input pixels) with 0 after normalisation.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    r_in: float | None = Field(default=None, ge=0.0)
    r_out: float | None = Field(default=None, gt=0.0)
    clip: float | None = Field(default=10.0, gt=0.0)
    mad_scale: Literal["raw", "normal"] = "raw"
    eps: float = Field(default=1e-8, ge=0.0)
    nan_to_zero: bool = True

    @model_validator(mode="after")
    def _ordered(self) -> RawRobustOptions:
        if self.r_in is not None and self.r_out is not None and self.r_in >= self.r_out:
            raise ValueError(f"r_in ({self.r_in}) must be smaller than r_out ({self.r_out})")
        return self

    def annulus(self, height: int, width: int) -> tuple[float, float]:
        """Return ``(r_in, r_out)`` in pixels for a ``height × width`` stamp, defaults resolved."""
        big_r = min(height, width) // 2
        if (height, width) == (64, 64):
            default_in, default_out = 20.0, 32.0
        else:
            default_in, default_out = 0.65 * big_r, 0.90 * big_r
        r_in = default_in if self.r_in is None else self.r_in
        r_out = default_out if self.r_out is None else self.r_out
        if r_in >= r_out:
            raise ValueError(f"annulus r_in={r_in} >= r_out={r_out} for a {height}x{width} stamp")
        return r_in, r_out


class ResidualRadialProfileOptions(RawRobustOptions):
    """Options of ``residual_radial_profile``: those of ``raw_robust`` plus the number of 1-px rings.

    Attributes
    ----------
    n_rings : int or None
        Rings ``k = 0 … n_rings-1`` of the azimuthal median profile; ``None``: ``min(H, W) // 2`` (32 for 64×64).
    """

    n_rings: int | None = Field(default=None, ge=1)


METHODS: dict[str, type[RawRobustOptions]] = {
    "raw_robust": RawRobustOptions,
    "residual_radial_profile": ResidualRadialProfileOptions,
}


def radius_image(height: int, width: int) -> np.ndarray:
    """Distance in pixels of every pixel from the centre pixel ``(height // 2, width // 2)``; shape ``(H, W)``."""
    yy, xx = np.indices((height, width), dtype=np.float64)
    return np.hypot(yy - height // 2, xx - width // 2)


def _is_torch(x: Any) -> bool:
    return type(x).__module__.split(".")[0] == "torch"


@contextmanager
def _quiet_all_nan() -> Iterator[None]:
    """Silence NumPy's 'All-NaN slice' RuntimeWarning; all-NaN annuli are reported as errors by the caller."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        yield


def _median(values: np.ndarray) -> np.ndarray:
    """Median over the last axis ignoring non-finite values (NumPy's fast path when all are finite)."""
    finite = np.isfinite(values)
    if finite.all():
        return np.median(values, axis=-1)
    with np.errstate(all="ignore"), _quiet_all_nan():
        return np.nanmedian(np.where(finite, values, np.nan), axis=-1)


def _raw_robust(x: np.ndarray, opts: RawRobustOptions) -> np.ndarray:
    n, c, h, w = x.shape
    r_in, r_out = opts.annulus(h, w)
    r = radius_image(h, w)
    mask = (r >= r_in) & (r < r_out)
    if not mask.any():
        raise ValueError(f"annulus {r_in} <= r < {r_out} holds no pixel of a {h}x{w} stamp")
    ring = x[:, :, mask]  # (N, C, K)
    med = _median(ring)
    mad = _median(np.abs(ring - med[..., None]))
    bad = ~(np.isfinite(med) & np.isfinite(mad))
    if bad.any():
        i, b = (int(v) for v in np.argwhere(bad)[0])
        raise ValueError(
            f"stamp {i} band {b}: no finite pixel in the annulus {r_in} <= r < {r_out} "
            f"({int(bad.sum())} stamp-band(s) affected); cannot normalise"
        )
    scale = mad * (_MAD_NORMAL if opts.mad_scale == "normal" else 1.0) + opts.eps
    with np.errstate(invalid="ignore"):
        out = (x - med[..., None, None]) / scale[..., None, None]
    if opts.clip is not None:
        out = np.clip(out, -opts.clip, opts.clip)
    if opts.nan_to_zero:
        out = np.where(np.isfinite(out), out, 0.0)
    return out


def _residual_radial_profile(x: np.ndarray, opts: ResidualRadialProfileOptions) -> np.ndarray:
    xn = _raw_robust(x, opts)
    h, w = xn.shape[-2:]
    n_rings = opts.n_rings if opts.n_rings is not None else min(h, w) // 2
    ring_of = np.floor(radius_image(h, w)).astype(np.int64)
    model = np.empty_like(xn)
    profile = None
    for k in range(n_rings):
        in_ring = ring_of == k
        if not in_ring.any():
            raise ValueError(f"ring {k} of a {h}x{w} stamp is empty; lower n_rings (got {n_rings})")
        profile = _median(xn[:, :, in_ring])  # (N, C)
        model[:, :, in_ring] = profile[..., None]
    outer = ring_of >= n_rings
    model[:, :, outer] = profile[..., None]
    out = xn - model
    if opts.nan_to_zero:
        out = np.where(np.isfinite(out), out, 0.0)
    return out


def preprocess(stamps: ArrayT, method: str = "raw_robust", **options: Any) -> ArrayT:
    """Normalise a batch of stamps; the one normalisation used for training, scoring and the gates.

    Parameters
    ----------
    stamps : numpy.ndarray or torch.Tensor, shape (N, C, H, W)
        Image stamps (any flux unit, e.g. nanomaggies); NaN/Inf pixels are ignored by the statistics.
    method : {"raw_robust", "residual_radial_profile"}
        The variant, see the module docstring (spec ``dhs.md`` §3.1–3.2).
    **options
        Fields of :class:`RawRobustOptions` / :class:`ResidualRadialProfileOptions`.

    Returns
    -------
    numpy.ndarray or torch.Tensor, shape (N, C, H, W)
        Dimensionless normalised stamps, the same kind as the input (tensors keep device; floating dtypes are kept and
        used for the arithmetic, other dtypes become float32).

    Raises
    ------
    ValueError
        Unknown method, invalid options (pydantic ``ValidationError`` is a ``ValueError``), a shape that is not
        ``(N, C, H, W)``, or a stamp/band whose annulus has no finite pixel (named by index).
    """
    if method not in METHODS:
        raise ValueError(f"unknown preprocessing method {method!r}; choose one of {sorted(METHODS)}")
    opts = METHODS[method](**options)
    as_torch = _is_torch(stamps)
    arr = stamps.detach().cpu().numpy() if as_torch else np.asarray(stamps)
    if arr.ndim != 4:
        raise ValueError(f"stamps must have shape (N, C, H, W); got shape {tuple(arr.shape)}")
    dtype = arr.dtype if np.issubdtype(arr.dtype, np.floating) else np.dtype(np.float32)
    work = arr.astype(dtype, copy=False)
    out = (_raw_robust(work, opts) if method == "raw_robust" else _residual_radial_profile(work, opts)).astype(dtype)
    if as_torch:
        import torch

        return torch.from_numpy(out).to(stamps.device)
    return out
