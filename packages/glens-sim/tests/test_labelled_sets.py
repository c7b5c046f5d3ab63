"""Galaxy splits, channel selection and rendered labelled sets."""

import numpy as np
import pytest
import torch

from glens_sim.config import LensSimConfig
from glens_sim.labelled_sets import (
    GalaxySplit, as_source_stack, make_labelled_set, n_input_channels, select_channels, split_galaxies,
)


def test_split_disjoint_complete_deterministic():
    ids = [f"g{i}" for i in range(10)]
    s = split_galaxies(ids, n_val=2, n_test=3, seed=1)
    assert (len(s.train), len(s.val), len(s.test)) == (5, 2, 3)
    assert set(s.train) | set(s.val) | set(s.test) == set(ids)
    assert not (set(s.train) & set(s.val) or set(s.train) & set(s.test) or set(s.val) & set(s.test))
    assert split_galaxies(list(reversed(ids)), n_val=2, n_test=3, seed=1) == s  # order-independent
    others = {split_galaxies(ids, n_val=2, n_test=3, seed=k).test for k in range(10)}
    assert len(others) > 1  # the seed matters


def test_split_errors():
    with pytest.raises(ValueError, match="duplicate"):
        split_galaxies(["a", "a", "b", "c"])
    with pytest.raises(ValueError, match="cannot be split"):
        split_galaxies(["a", "b", "c"], n_val=1, n_test=2)
    with pytest.raises(ValueError, match="both the train and test"):
        GalaxySplit(train=("a", "b"), val=("c",), test=("b",))


def test_select_channels():
    x = torch.stack([torch.zeros(3, 8, 8), torch.ones(3, 8, 8)], dim=1)
    assert torch.equal(select_channels(x, "flux"), torch.zeros(3, 1, 8, 8))
    assert torch.equal(select_channels(x, "vel"), torch.ones(3, 1, 8, 8))
    assert select_channels(x, "both") is x
    assert [n_input_channels(m) for m in ("flux", "vel", "both")] == [1, 1, 2]
    with pytest.raises(ValueError, match="channel_mode"):
        select_channels(x, "velocity")


def test_source_stack_validation():
    good = np.zeros((2, 16, 16), np.float32)
    with pytest.raises(ValueError, match="'b'.*shape"):
        as_source_stack({"a": good, "b": np.zeros((16, 16))})
    bad = good.copy()
    bad[1, 3, 3] = np.nan
    with pytest.raises(ValueError, match="'b'.*NaN"):
        as_source_stack({"a": good, "b": bad})
    with pytest.raises(ValueError, match="'b'.*size"):
        as_source_stack({"a": good, "b": np.zeros((2, 8, 8))})
    assert as_source_stack({"a": good})["a"].dtype == torch.float32


# --- rendered sets ---------------------------------------------------------------------------

def _disc(n: int, pa: float, incl: float = 1.0) -> np.ndarray:
    """Inclined exponential disc (flux) with an arctan rotation curve (velocity), (2, n, n)."""
    c = np.linspace(-1, 1, n)
    x, y = np.meshgrid(c, c)
    xp = x * np.cos(pa) + y * np.sin(pa)
    yp = (-x * np.sin(pa) + y * np.cos(pa)) / np.cos(incl)
    r = np.hypot(xp, yp) + 1e-9
    flux = np.exp(-r / 0.25)
    vel = (2 / np.pi) * np.arctan(r / 0.1) * (xp / r) * np.sin(incl)
    return np.stack([flux / flux.max(), vel]).astype(np.float32)


SOURCES = {f"g{i}": _disc(24, pa=0.4 * i + 0.3) for i in range(3)}
CLEAN = LensSimConfig(theta_E_sub_factor=0.3, psf_sigma=0.0, flux_noise_sigma=0.0, vel_noise_sigma=0.0)


def test_subhalo_set_labels_meta_and_determinism():
    a = make_labelled_set(SOURCES, ["g0", "g2"], 10, CLEAN, "subhalo", seed=3, progress=False)
    b = make_labelled_set(SOURCES, ["g0", "g2"], 10, CLEAN, "subhalo", seed=3, progress=False)
    c = make_labelled_set(SOURCES, ["g0", "g2"], 10, CLEAN, "subhalo", seed=4, progress=False)
    assert a.images.shape == (20, 2, 24, 24) and a.images.dtype == torch.float32
    assert torch.isfinite(a.images).all()
    assert a.meta["galaxy"].value_counts().to_dict() == {"g0": 10, "g2": 10}
    assert a.meta.groupby("galaxy")["label"].sum().to_dict() == {"g0": 5, "g2": 5}  # balanced
    assert (a.meta["label"].to_numpy() == a.labels.numpy()).all()
    # the simulator put a subhalo exactly on the positives
    assert (a.meta["subhalo"].to_numpy() == a.labels.numpy().astype(bool)).all()
    assert a.meta.loc[a.meta["label"] == 1, "sub_x"].notna().all()
    assert a.meta.loc[a.meta["label"] == 0, "sub_x"].isna().all()
    assert torch.equal(a.images, b.images) and a.meta.equals(b.meta)
    assert not torch.equal(a.images, c.images)
    x, y = a.xy("vel")
    assert x.shape == (20, 1, 24, 24) and torch.equal(y, a.labels)


def test_lensed_set_negatives_are_the_augmented_sources():
    s = make_labelled_set(SOURCES, ["g1"], 16, CLEAN, "lensed", seed=0, progress=False)
    src = torch.from_numpy(SOURCES["g1"])
    from glens_sim.augment import dihedral

    neg = np.flatnonzero(s.labels.numpy() == 0)
    pos = np.flatnonzero(s.labels.numpy() == 1)
    assert len(neg) == len(pos) == 8
    for i in neg:  # no lens, no PSF, no noise: the image is the transformed source's flux
        expect = dihedral(src, int(s.meta["dihedral"].iloc[i]))
        assert torch.allclose(s.images[i, 0], expect[0], atol=1e-5)
    for i in pos:  # lensed: clearly different from the source
        expect = dihedral(src, int(s.meta["dihedral"].iloc[i]))
        assert (s.images[i, 0] - expect[0]).abs().max() > 0.2
    assert s.meta.loc[s.meta["label"] == 0, "lensed"].eq(False).all()


def test_kinematic_set_flux_and_mask_do_not_depend_on_label():
    s = make_labelled_set(SOURCES, ["g0", "g1"], 40, CLEAN, "kinematic", seed=1, progress=False)
    meta = s.meta
    assert meta.loc[meta["label"] == 1, "sub_x"].notna().all()
    pairs = 0
    for (_, _), grp in meta.groupby(["galaxy", "dihedral"]):
        lab = grp["label"].to_numpy()
        if lab.min() == lab.max():
            continue
        i0 = grp.index[lab == 0][0]
        for i1 in grp.index[lab == 1]:
            pairs += 1
            # same source orientation and macro lens: identical flux and velocity mask ...
            assert torch.equal(s.images[i0, 0], s.images[i1, 0])
            assert torch.equal(s.images[i0, 1] == 0, s.images[i1, 1] == 0)
            # ... but the subhalo changed the velocity field
            assert (s.images[i0, 1] - s.images[i1, 1]).abs().max() > 0.01
    assert pairs >= 5


def test_labelled_set_errors():
    with pytest.raises(ValueError, match="task"):
        make_labelled_set(SOURCES, ["g0"], 4, CLEAN, "bogus", seed=0, progress=False)
    with pytest.raises(ValueError, match="no source tensor.*g9"):
        make_labelled_set(SOURCES, ["g9"], 4, CLEAN, "subhalo", seed=0, progress=False)
    with pytest.raises(ValueError, match="n_per_galaxy"):
        make_labelled_set(SOURCES, ["g0"], 1, CLEAN, "subhalo", seed=0, progress=False)
