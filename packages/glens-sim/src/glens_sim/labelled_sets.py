"""Labelled image sets for the CNN experiments, rendered with :func:`glens_sim.simulate.simulate_batch`.

Tasks (label 1 is the "positive" class):

* ``"lensed"`` — unlensed source (0) vs the same kind of source lensed by the macro lens (1).
* ``"subhalo"`` — smooth macro lens (0) vs macro lens + one subhalo (1) (spec §2.7, task B).
* ``"kinematic"`` — the controlled kinematics experiment (option A of the 2025-12-01 work log):
  both classes carry the *smooth* lens's flux and velocity mask; class 0 has the smooth lens's
  velocity, class 1 the velocity lensed by the same macro lens *plus* a subhalo. Flux and mask
  are therefore identically distributed in the two classes (the "same mask for both classes"
  control of spec §2.9 #14): only the velocity channel carries the label. (The perturbed
  render runs with ``flux_mask_threshold=0``, so with ``subhalo_placement="bright"`` its subhalo
  is drawn from all pixels with flux > 0.)

Every sample is built from one galaxy's source tensor ``(2, N, N)`` (channel 0 flux in [0, 1],
channel 1 normalised velocity), transformed by a random symmetry of the square (90° rotations
and flips) before lensing. Sets are generated once from a seed (fixed, reproducible validation
and test sets: spec §2.9 #10). Splits are **by galaxy**: no galaxy contributes to two splits.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd
import torch

from .augment import apply_dihedral
from .config import LensSimConfig
from .simulate import simulate_batch

__all__ = [
    "CHANNEL_MODES",
    "TASKS",
    "ChannelMode",
    "Task",
    "GalaxySplit",
    "LabelledSet",
    "as_source_stack",
    "split_galaxies",
    "select_channels",
    "n_input_channels",
    "make_labelled_set",
]

ChannelMode = Literal["flux", "vel", "both"]
Task = Literal["lensed", "subhalo", "kinematic"]
CHANNEL_MODES: tuple[str, ...] = ("flux", "vel", "both")
TASKS: tuple[str, ...] = ("lensed", "subhalo", "kinematic")


def n_input_channels(mode: str) -> int:
    """Number of CNN input channels for a channel mode (1 for flux/vel, 2 for both)."""
    if mode not in CHANNEL_MODES:
        raise ValueError(f"channel_mode must be one of {CHANNEL_MODES}, got {mode!r}")
    return 2 if mode == "both" else 1


def select_channels(images: torch.Tensor, mode: str) -> torch.Tensor:
    """Channels of ``images (B, 2, N, N)`` seen by the CNN: flux ``[:, :1]``, vel ``[:, 1:]`` or both.

    The original kept two input channels and zeroed the unused one; dropping it is equivalent
    for a convolution (a zero input channel only adds nothing) and keeps the model honest.
    """
    n_input_channels(mode)
    if images.ndim != 4 or images.shape[1] != 2:
        raise ValueError(f"expected images of shape (B, 2, N, N), got {tuple(images.shape)}")
    return {"flux": images[:, :1], "vel": images[:, 1:], "both": images}[mode]


@dataclass(frozen=True)
class GalaxySplit:
    """Galaxy identifiers of the train / validation / test splits (pairwise disjoint)."""

    train: tuple[str, ...]
    val: tuple[str, ...]
    test: tuple[str, ...]

    def __post_init__(self) -> None:
        for a, b in (("train", "val"), ("train", "test"), ("val", "test")):
            common = set(getattr(self, a)) & set(getattr(self, b))
            if common:
                raise ValueError(f"galaxies {sorted(common)} are in both the {a} and {b} splits")
        for name in ("train", "val", "test"):
            if not getattr(self, name):
                raise ValueError(f"the {name} split has no galaxy")


def split_galaxies(
    galaxy_ids: Sequence[str], *, n_val: int = 1, n_test: int = 2, seed: int = 42
) -> GalaxySplit:
    """Random split of galaxies into train / val / test (``n_val``, ``n_test`` galaxies; rest train).

    Deterministic in ``seed`` and independent of the input order (ids are sorted first).
    """
    ids = [str(g) for g in galaxy_ids]
    if len(set(ids)) != len(ids):
        dup = sorted({g for g in ids if ids.count(g) > 1})
        raise ValueError(f"duplicate galaxy ids: {dup}")
    if n_val < 1 or n_test < 1:
        raise ValueError(f"need at least one validation and one test galaxy, got n_val={n_val}, n_test={n_test}")
    if len(ids) < n_val + n_test + 1:
        raise ValueError(
            f"{len(ids)} galaxies cannot be split into {n_val} val + {n_test} test + >= 1 train"
        )
    order = np.random.default_rng(seed).permutation(len(ids))
    shuffled = [sorted(ids)[i] for i in order]
    return GalaxySplit(
        train=tuple(sorted(shuffled[n_val + n_test :])),
        val=tuple(sorted(shuffled[:n_val])),
        test=tuple(sorted(shuffled[n_val : n_val + n_test])),
    )


def as_source_stack(sources: Mapping[str, np.ndarray | torch.Tensor]) -> dict[str, torch.Tensor]:
    """Validate a ``{galaxy id: (2, N, N) source}`` mapping and convert it to float32 tensors.

    Raises ``ValueError`` naming the galaxy for a wrong shape, a non-finite value or a size that
    differs from the others.
    """
    if not sources:
        raise ValueError("no source tensors given")
    out: dict[str, torch.Tensor] = {}
    size = None
    for gid, src in sources.items():
        t = torch.as_tensor(np.asarray(src) if not isinstance(src, torch.Tensor) else src).float().cpu()
        if t.ndim != 3 or t.shape[0] != 2 or t.shape[1] != t.shape[2]:
            raise ValueError(f"source {gid!r}: expected shape (2, N, N), got {tuple(t.shape)}")
        if not torch.isfinite(t).all():
            raise ValueError(f"source {gid!r}: contains NaN or inf")
        if size is None:
            size = t.shape[1]
        elif t.shape[1] != size:
            raise ValueError(f"source {gid!r}: size {t.shape[1]} differs from the others ({size})")
        out[str(gid)] = t
    return out


@dataclass
class LabelledSet:
    """A rendered, labelled set.

    images: ``(B, 2, N, N)`` float32, channel 0 observed flux, channel 1 observed velocity
        (masked to ``vel_fill`` where the lensed flux is below threshold).
    labels: ``(B,)`` int64 in {0, 1}.
    meta: one row per sample: ``galaxy``, ``label``, ``dihedral`` (0..7, see
        :func:`glens_sim.augment.dihedral`) and the lens parameters returned by the simulator.
    """

    images: torch.Tensor
    labels: torch.Tensor
    meta: pd.DataFrame

    def __len__(self) -> int:
        return int(self.labels.shape[0])

    def xy(self, mode: str) -> tuple[torch.Tensor, torch.Tensor]:
        """``(images with the channels of ``mode``, labels)`` for training/evaluation."""
        return select_channels(self.images, mode), self.labels


def _balanced_labels(n: int, generator: torch.Generator) -> torch.Tensor:
    labels = torch.arange(n) % 2
    return labels[torch.randperm(n, generator=generator)]


def make_labelled_set(
    sources: Mapping[str, np.ndarray | torch.Tensor],
    galaxies: Sequence[str],
    n_per_galaxy: int,
    cfg: LensSimConfig,
    task: str,
    *,
    seed: int,
    progress: bool = True,
) -> LabelledSet:
    """Render ``n_per_galaxy`` samples of every galaxy in ``galaxies`` for ``task``.

    Labels are balanced per galaxy (``n_per_galaxy // 2`` positives, in random order). All random
    draws (labels, source symmetries, lens/subhalo parameters, noise) come from one
    ``torch.Generator`` seeded with ``seed``, so the set is a pure function of the arguments.
    """
    if task not in TASKS:
        raise ValueError(f"task must be one of {TASKS}, got {task!r}")
    if n_per_galaxy < 2:
        raise ValueError(f"n_per_galaxy must be >= 2 (one sample per class), got {n_per_galaxy}")
    stack = as_source_stack(sources)
    missing = [g for g in galaxies if g not in stack]
    if missing:
        raise ValueError(f"no source tensor for galaxies {missing}")
    gen = torch.Generator().manual_seed(int(seed))
    gal = [g for g in galaxies for _ in range(n_per_galaxy)]
    labels = torch.cat([_balanced_labels(n_per_galaxy, gen) for _ in galaxies])
    ks = torch.randint(0, 8, (len(gal),), generator=gen)
    src = apply_dihedral(torch.stack([stack[g] for g in gal]), ks)
    images, params = _render(src, labels.bool(), cfg, task, gen, progress)
    meta = params.drop(columns=["sample"], errors="ignore")
    meta.insert(0, "galaxy", gal)
    meta.insert(1, "label", labels.numpy())
    meta.insert(2, "dihedral", ks.numpy())
    return LabelledSet(images=images.float().cpu(), labels=labels.long(), meta=meta)


def _render(
    src: torch.Tensor, pos: torch.Tensor, cfg: LensSimConfig, task: str,
    gen: torch.Generator, progress: bool,
) -> tuple[torch.Tensor, pd.DataFrame]:
    if task == "lensed":
        out = simulate_batch(src, cfg, lensed=pos, subhalo=False, generator=gen, progress=progress)
        return out.images, out.params
    if task == "subhalo":
        out = simulate_batch(src, cfg, lensed=True, subhalo=pos, generator=gen, progress=progress)
        return out.images, out.params
    # kinematic (option A): lens every source twice with the same macro lens. The first render
    # (subhalo on the positives, no flux threshold) gives the perturbed velocity; the second
    # (smooth, same lens parameters) gives flux, mask and the unperturbed velocity. Positives
    # take the first render's velocity inside the smooth mask, so flux and mask do not depend
    # on the label.
    perturbed = simulate_batch(src, cfg.replace(flux_mask_threshold=0.0), lensed=True,
                               subhalo=pos, generator=gen, progress=progress)
    smooth = simulate_batch(src, cfg, lensed=True, subhalo=False, generator=gen,
                            lens_params=perturbed.params, progress=progress)
    images = smooth.images.clone()
    pos_dev = pos.to(images.device)
    vel_sub = torch.where(smooth.vel_mask, perturbed.images[:, 1],
                          torch.full_like(perturbed.images[:, 1], cfg.vel_fill))
    images[pos_dev, 1] = vel_sub[pos_dev]
    params = smooth.params.copy()
    for col in ("subhalo", "sub_profile", "sub_x", "sub_y", "sub_strength", "sub_Rs", "sub_r_trunc"):
        params[col] = perturbed.params[col].to_numpy()
    return images, params
