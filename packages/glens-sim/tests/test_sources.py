"""Source tensors: normalisation, resampling geometry, all-masked input, files."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from glens_sim.maps_io import read_maps
from glens_sim.sources import (
    SourceConfig,
    SourceError,
    build_source_tensors,
    compactness_metrics,
    load_source_tensor,
    make_source_tensor,
    normalise_flux,
    normalise_velocity,
    resample,
    save_source_preview,
    save_source_tensor,
)
from glens_sim.synthetic import SyntheticGalaxy, write_synthetic_maps


@pytest.fixture(scope="module")
def maps(tmp_path_factory):
    g = SyntheticGalaxy(plateifu="8400-12701", pa=90.0, inclination=60.0, v_sys=30.0)
    return read_maps(write_synthetic_maps(tmp_path_factory.mktemp("s"), g, seed=4))


def test_normalise_flux_percentiles():
    rng = np.random.default_rng(1)
    flux = rng.gamma(2.0, 10.0, (30, 30))
    valid = rng.random((30, 30)) > 0.3
    out, meta = normalise_flux(flux, valid)
    lo, hi = np.percentile(flux[valid], 5), np.percentile(flux[valid], 99.5)
    expected = np.clip((flux - lo) / (hi - lo), 0, 1)
    np.testing.assert_allclose(out[valid], expected[valid])
    assert np.all(out[~valid] == 0)
    assert meta["p_low"] == pytest.approx(lo) and meta["flux_sum"] == pytest.approx(flux[valid].sum())


def test_normalise_velocity_robust():
    rng = np.random.default_rng(2)
    v = rng.normal(123.0, 80.0, (40, 40))
    valid = rng.random((40, 40)) > 0.2
    out, meta = normalise_velocity(v, valid)
    assert meta["vel_median"] == pytest.approx(np.median(v[valid]))
    assert np.median(out[valid]) == pytest.approx(0.0, abs=1e-12)
    assert np.mean(np.abs(out[valid]) == 1.0) >= 0.05 - 1 / valid.sum()
    assert np.all(out[~valid] == 0) and out.min() >= -1 and out.max() <= 1


def test_resample_aligns_corner_pixel_centres():
    ny, nx = 54, 54
    ramp = np.tile(2.0 * np.arange(nx) + 7.0, (ny, 1))
    out = resample(ramp, 64)
    expected = 2.0 * (np.arange(64) * (nx - 1) / 63) + 7.0  # corners map onto corners
    np.testing.assert_allclose(out[10], expected, atol=1e-9)
    assert resample(ramp, 128).shape == (128, 128)


def test_make_source_tensor(maps):
    src = make_source_tensor(maps)
    t = src.tensor
    assert t.shape == (2, 64, 64) and t.dtype == np.float32 and np.isfinite(t).all()
    assert 0 <= t[0].min() and t[0].max() <= 1 and t[0].max() > 0.9
    assert -1 <= t[1].min() and t[1].max() <= 1
    assert src.meta["arcsec_per_unit"] == pytest.approx((74 - 1) * 0.25)
    assert src.meta["vel_median"] == pytest.approx(30.0, abs=10.0)
    # PA = 90° → receding side is East = low column index; rows unchanged (origin='lower')
    mid = t[1, 28:36]
    assert mid[:, 8:20].mean() > 0.3 and mid[:, 44:56].mean() < -0.3
    big = make_source_tensor(maps, SourceConfig(size=128)).tensor
    assert big.shape == (2, 128, 128) and np.isfinite(big).all()


def test_all_masked_raises_naming_file(maps):
    empty = dataclasses.replace(maps, flux_valid=np.zeros_like(maps.flux_valid))
    with pytest.raises(SourceError, match=r"manga-8400-12701-MAPS.*too few valid"):
        make_source_tensor(empty)
    no_vel = dataclasses.replace(maps, vel_valid=np.zeros_like(maps.vel_valid))
    with pytest.raises(SourceError, match="flux∧velocity 0"):
        make_source_tensor(no_vel)
    nan_flux = dataclasses.replace(maps, flux=np.full_like(maps.flux, np.nan))
    with pytest.raises(SourceError):
        make_source_tensor(nan_flux)


def test_compactness_metrics():
    img = np.zeros((64, 64))
    img[31:33, 31:33] = 1.0
    m = compactness_metrics(img)
    assert m["flux_frac_center5"] == 1.0 and m["r_half_pix"] == pytest.approx(np.sqrt(0.5))
    yy, xx = np.mgrid[0:64, 0:64]
    ring = (np.abs(np.hypot(yy - 31.5, xx - 31.5) - 20) < 0.5).astype(float)
    m = compactness_metrics(ring)
    assert m["flux_frac_center5"] == 0 and 19.5 <= m["r_half_pix"] <= 20.5


def test_files_round_trip(maps, tmp_path):
    src = make_source_tensor(maps)
    p = save_source_tensor(src.tensor, tmp_path / "t" / "source_tensor_x.npy")
    np.testing.assert_array_equal(load_source_tensor(p), src.tensor)
    png = save_source_preview(src.tensor, tmp_path / "t" / "preview.png", title=src.plateifu)
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert sorted(x.name for x in (tmp_path / "t").iterdir()) == ["preview.png", "source_tensor_x.npy"]
    bad = tmp_path / "bad.npy"
    np.save(bad, np.full((2, 4, 4), np.nan, np.float32))
    with pytest.raises(SourceError, match="bad.npy"):
        load_source_tensor(bad)


def test_build_source_tensors_reports_bad_files(maps, tmp_path):
    bad = tmp_path / "manga-1-1901-MAPS.fits.gz"
    bad.write_bytes(b"\x1f\x8b\x08\x00truncated")
    tensors, table = build_source_tensors([maps.path, bad], progress=False)
    assert list(tensors) == ["8400-12701"] and tensors["8400-12701"].shape == (2, 64, 64)
    assert list(table["status"].str[:5]) == ["OK", "ERROR"]
    assert "manga-1-1901-MAPS.fits.gz" in table["status"].iloc[1]
    with pytest.raises(ValueError, match="manga-1-1901"):
        build_source_tensors([bad], progress=False, strict=True)
