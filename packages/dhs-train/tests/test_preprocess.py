"""preprocess: checked against scipy's MAD / NumPy medians written independently, torch-free import, bad input."""

import subprocess
import sys

import numpy as np
import pytest
import torch
from scipy.stats import median_abs_deviation

from dhs_train import preprocess


def _stamps(n: int = 4, c: int = 3, h: int = 64, w: int = 64, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return (rng.normal(2.0, 3.0, size=(n, c, h, w)) + rng.normal(size=(n, c, 1, 1)) * 5).astype(np.float32)


def test_import_does_not_import_torch() -> None:
    code = "import sys, dhs_train, dhs_train.preprocess; assert 'torch' not in sys.modules, 'torch imported'"
    subprocess.run([sys.executable, "-c", code], check=True)


@pytest.mark.parametrize("mad_scale", ["raw", "normal"])
def test_raw_robust_matches_scipy_mad_on_the_annulus(mad_scale: str) -> None:
    x = _stamps()
    out = preprocess(x, "raw_robust", clip=None, mad_scale=mad_scale)
    yy, xx = np.mgrid[:64, :64]
    r = np.hypot(yy - 32, xx - 32)
    sel = (r >= 20) & (r < 32)
    for i in range(x.shape[0]):
        for b in range(x.shape[1]):
            pix = x[i, b][sel].astype(np.float64)
            scale = median_abs_deviation(pix, scale="normal" if mad_scale == "normal" else 1.0) + 1e-8
            np.testing.assert_allclose(out[i, b], (x[i, b] - np.median(pix)) / scale, rtol=2e-5, atol=2e-5)


def test_clip_nan_and_other_sizes() -> None:
    x = _stamps(h=101, w=101)
    x[0, 1, 50, 50] = np.nan
    x[1, 0, 10, 10] = 1e6
    out = preprocess(x, "raw_robust", clip=5.0)
    assert out[0, 1, 50, 50] == 0.0 and out[1, 0, 10, 10] == 5.0
    assert np.abs(out).max() <= 5.0
    # 101x101 default: successor annulus 0.65 R <= r < 0.90 R with R = 50 -> median of that annulus maps to 0
    r = np.hypot(*np.mgrid[-50:51, -50:51])
    sel = (r >= 32.5) & (r < 45.0)
    assert abs(np.median(out[2, 2][sel])) < 1e-5


def test_residual_profile_removes_any_radial_function_and_keeps_arcs() -> None:
    yy, xx = np.mgrid[:64, :64]
    r = np.hypot(yy - 32, xx - 32)
    rng = np.random.default_rng(1)
    base = np.exp(-r / 6.0)[None, None] * rng.uniform(1, 3, size=(2, 3, 1, 1)) + rng.normal(0, 0.01, (2, 3, 64, 64))
    arc = np.zeros_like(base)
    arc[:, :, (r > 9) & (r < 11) & (xx > 32)] = 1.0  # half ring: not azimuthally symmetric
    res_base = preprocess(base, "residual_radial_profile", clip=None)
    res_arc = preprocess(base + arc, "residual_radial_profile", clip=None)
    assert res_base.dtype == np.float64
    assert np.abs(res_base[:, :, r < 20]).mean() < 2.0  # noise-level (units of annulus MAD ~ 0.0067)
    norm = preprocess(base + arc, "raw_robust", clip=None)
    assert np.abs(norm[:, :, r < 20]).mean() > 20 * np.abs(res_base[:, :, r < 20]).mean()
    assert res_arc[:, :, (r > 9) & (r < 11) & (xx > 32)].mean() > 10.0  # arc survives
    assert np.all(res_arc[:, :, 32, 32] == 0.0)  # ring 0 = the centre pixel


def test_residual_profile_matches_a_loop_implementation() -> None:
    x = _stamps(n=1, c=2)
    out = preprocess(x, "residual_radial_profile", clip=None)
    xn = preprocess(x, "raw_robust", clip=None).astype(np.float64)
    r = np.hypot(*np.mgrid[-32:32, -32:32])
    expect = np.empty_like(xn)
    for b in range(2):
        prof = [np.median(xn[0, b][(r >= k) & (r < k + 1)]) for k in range(32)]
        idx = np.minimum(np.floor(r).astype(int), 31)
        expect[0, b] = xn[0, b] - np.asarray(prof)[idx]
    np.testing.assert_allclose(out, expect, atol=1e-5)


def test_torch_in_torch_out_same_values() -> None:
    x = _stamps(n=2)
    t = preprocess(torch.from_numpy(x), "residual_radial_profile")
    assert isinstance(t, torch.Tensor) and t.dtype == torch.float32
    np.testing.assert_array_equal(t.numpy(), preprocess(x, "residual_radial_profile"))


def test_bad_input_is_named() -> None:
    x = _stamps(n=3)
    with pytest.raises(ValueError, match="unknown preprocessing method 'zscore'"):
        preprocess(x, "zscore")
    with pytest.raises(ValueError, match="r_out"):
        preprocess(x, "raw_robust", r_in=30, r_out=10)
    with pytest.raises(ValueError, match="bogus"):
        preprocess(x, "raw_robust", bogus=1)
    with pytest.raises(ValueError, match=r"shape \(N, C, H, W\)"):
        preprocess(x[0], "raw_robust")
    x[2, 1] = np.nan
    with pytest.raises(ValueError, match="stamp 2 band 1"):
        preprocess(x, "raw_robust")
