"""Augmentations and hard negatives on ``(N, C, H, W)`` NumPy batches (spec ``dhs.md`` §3.3).

All randomness comes from a ``numpy.random.Generator`` passed in, so a batch's augmentation is a pure function
of its seed (the data loader seeds one generator per store unit and epoch: deterministic whatever the number of
workers or ranks).

- :func:`random_dihedral`: the 8 symmetries of the square (hflip/vflip/rot90 compositions), uniformly; the
  transform itself is glens-sim's ``apply_dihedral``.
- :func:`core_dropout`: with probability ``prob`` per sample, pixels with ``r < radius`` (from the centre pixel
  ``(H//2, W//2)``) are set to 0 (``fill="zero"``, the experiment-matrix policy, meant after normalisation) or to
  the per-band median of ``r >= outer_radius`` (``fill="outer_median"``, planb's policy, meant before). The
  decisions can be supplied, so a positive and its paired negative share one.
- :func:`azimuthal_shuffle`: within every 1-px ring ``k <= r < k+1`` for ``r < r_max`` (default ``min(H, W)//2``,
  i.e. 32 for 64×64 stamps; the corners beyond stay in place), pixel values are permuted, with the same
  permutation in every band (colour coherence kept, arc morphology destroyed).
- :func:`hard_negative`: ``ctrl + azimuthal_shuffle(stamp - ctrl)`` — only the arc residual is shuffled, the host
  is untouched, and the result is a *negative* (label 0; the original labelled it positive, spec §5.12).
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import torch
from glens_sim.augment import apply_dihedral

from dhs_train.preprocess import radius_image

__all__ = ["azimuthal_shuffle", "core_dropout", "hard_negative", "random_dihedral"]


def random_dihedral(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Apply an independent uniformly drawn square symmetry to each sample of ``x (N, C, S, S)``."""
    ks = torch.from_numpy(rng.integers(0, 8, size=x.shape[0]))
    return apply_dihedral(torch.from_numpy(np.ascontiguousarray(x)), ks).numpy()


def core_dropout(
    x: np.ndarray,
    rng: np.random.Generator | None,
    *,
    prob: float = 0.5,
    radius: float = 5.0,
    fill: Literal["zero", "outer_median"] = "zero",
    outer_radius: float = 20.0,
    apply: np.ndarray | None = None,
) -> np.ndarray:
    """Blank the core ``r < radius`` px of a random subset of ``x (N, C, H, W)`` (a copy is returned).

    ``apply`` (bool ``(N,)``) gives the decisions explicitly (then ``rng`` may be None); otherwise each sample
    is dropped with probability ``prob``.
    """
    n, _, h, w = x.shape
    if apply is None:
        if rng is None:
            raise ValueError("core_dropout needs rng or explicit apply decisions")
        apply = rng.random(n) < prob
    out = np.array(x, copy=True)
    if not apply.any():
        return out
    r = radius_image(h, w)
    core = r < radius
    sel = out[apply]
    if fill == "zero":
        sel[:, :, core] = 0.0
    elif fill == "outer_median":
        sel[:, :, core] = np.nanmedian(sel[:, :, r >= outer_radius], axis=-1)[..., None]
    else:
        raise ValueError(f"unknown core-dropout fill {fill!r}; choose 'zero' or 'outer_median'")
    out[apply] = sel
    return out


def azimuthal_shuffle(x: np.ndarray, rng: np.random.Generator, r_max: float | None = None) -> np.ndarray:
    """Permute pixels within each 1-px ring ``r < r_max`` of every sample of ``x (N, C, H, W)``.

    One permutation per sample and ring, shared by all bands. Returns a new array.
    """
    n, _, h, w = x.shape
    r = radius_image(h, w)
    r_max = min(h, w) // 2 if r_max is None else r_max
    ring = np.floor(r).astype(np.int64)
    out = np.array(x, copy=True)
    flat_in = x.reshape(n, x.shape[1], -1)
    flat_out = out.reshape(n, x.shape[1], -1)
    for k in range(int(np.ceil(r_max))):
        idx = np.flatnonzero((ring == k) & (r < r_max))
        if idx.size < 2:
            continue
        perm = np.argsort(rng.random((n, idx.size)), axis=1)  # (N, K): one permutation per sample
        src = idx[perm]  # (N, K)
        flat_out[:, :, idx] = np.take_along_axis(flat_in, src[:, None, :], axis=2)
    return out


def hard_negative(stamp: np.ndarray, ctrl: np.ndarray, rng: np.random.Generator, r_max: float | None = None) -> np.ndarray:
    """``ctrl + azimuthal_shuffle(stamp - ctrl)`` for paired ``(N, C, H, W)`` batches (label 0)."""
    if stamp.shape != ctrl.shape:
        raise ValueError(f"stamp {stamp.shape} and ctrl {ctrl.shape} shapes differ")
    return ctrl + azimuthal_shuffle(stamp - ctrl, rng, r_max)
