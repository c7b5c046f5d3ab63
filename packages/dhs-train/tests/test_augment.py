"""Augmentations: ring shuffles keep each ring's values and colours, hard negatives touch only the arc residual."""

import numpy as np
import pytest
import torch

from dhs_train.augment import azimuthal_shuffle, core_dropout, hard_negative, random_dihedral

R = np.hypot(*np.mgrid[-16:16, -16:16])


def test_azimuthal_shuffle_permutes_within_rings_with_one_permutation_for_all_bands() -> None:
    rng = np.random.default_rng(0)
    band = rng.normal(size=(3, 1, 32, 32))
    x = np.concatenate([band, 2 * band, band + 5], axis=1)  # colours tied across bands
    out = azimuthal_shuffle(x, np.random.default_rng(1), r_max=12)
    np.testing.assert_allclose(out[:, 1], 2 * out[:, 0])
    np.testing.assert_allclose(out[:, 2], out[:, 0] + 5)
    for k in range(12):
        ring = (np.floor(R) == k) & (R < 12)
        np.testing.assert_allclose(np.sort(out[:, 0][:, ring], axis=1), np.sort(x[:, 0][:, ring], axis=1))
    np.testing.assert_array_equal(out[:, :, R >= 12], x[:, :, R >= 12])  # beyond r_max untouched
    assert not np.allclose(out, x)


def test_hard_negative_shuffles_only_the_residual() -> None:
    rng = np.random.default_rng(2)
    ctrl = rng.normal(size=(2, 3, 32, 32))
    arc = np.zeros_like(ctrl)
    arc[:, :, (R > 5) & (R < 7) & (np.mgrid[:32, :32][1] > 16)] = 1.0
    neg = hard_negative(ctrl + arc, ctrl, np.random.default_rng(3))
    resid = neg - ctrl
    np.testing.assert_allclose(resid[:, :, R < 5], 0, atol=1e-12)
    for k in (5, 6):
        ring = np.floor(R) == k
        np.testing.assert_allclose(resid[:, :, ring].sum(axis=-1), arc[:, :, ring].sum(axis=-1))  # flux per ring kept
    assert not np.allclose(resid, arc)


def test_core_dropout_policies() -> None:
    x = np.ones((4, 3, 32, 32))
    x[:, :, R >= 10] = 7.0
    out = core_dropout(x, None, radius=3, fill="zero", apply=np.array([True, False, True, False]))
    assert (out[0][:, R < 3] == 0).all() and (out[1] == x[1]).all() and (out[0][:, R >= 3] == x[0][:, R >= 3]).all()
    med = core_dropout(x, None, radius=3, fill="outer_median", outer_radius=10, apply=np.ones(4, bool))
    assert (med[:, :, R < 3] == 7.0).all()
    frac = core_dropout(np.ones((2000, 1, 8, 8)), np.random.default_rng(0), prob=0.3, radius=1)[:, 0, 4, 4]
    assert (frac == 0).mean() == pytest.approx(0.3, abs=0.04)


def test_random_dihedral_is_a_seeded_square_symmetry() -> None:
    x = np.random.default_rng(4).normal(size=(16, 3, 8, 8)).astype(np.float32)
    a = random_dihedral(x, np.random.default_rng(5))
    np.testing.assert_array_equal(a, random_dihedral(x, np.random.default_rng(5)))
    for i in range(16):
        t = torch.from_numpy(x[i])
        images = [torch.rot90(t, k, (-2, -1)) for k in range(4)]
        images += [torch.flip(im, (-1,)) for im in images]
        assert any(np.array_equal(a[i], im.numpy()) for im in images)
