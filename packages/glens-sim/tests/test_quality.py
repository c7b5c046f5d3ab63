"""Quality metrics against independent computations; bad files give flagged rows."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import scipy.linalg
import scipy.stats
from astropy.io import fits

from glens_sim.maps_io import read_maps
from glens_sim.quality import (
    QUALITY_COLUMNS,
    QualityConfig,
    frac_valid_in_re,
    plane_fit_gradient,
    quality_row,
    quality_table,
)
from glens_sim.synthetic import SyntheticGalaxy, make_synthetic_sample, synthetic_hdulist, write_synthetic_maps

DONOTUSE = 1 << 30
UNRELIABLE = 1 << 5
#: the default mask: Marvin's NOCOV | UNRELIABLE | DONOTUSE
DEFAULT_MASK = 1 | UNRELIABLE | DONOTUSE


@pytest.fixture(scope="module")
def sample(tmp_path_factory):
    return make_synthetic_sample(tmp_path_factory.mktemp("q"), n=5, seed=7, progress=False)


def test_plane_fit_matches_scipy_lstsq():
    rng = np.random.default_rng(0)
    ny, nx = 40, 50
    rows, cols = np.mgrid[0:ny, 0:nx]
    v = 3.0 * cols - 1.7 * rows + 12 + rng.normal(0, 5, (ny, nx))
    v[rng.random((ny, nx)) < 0.4] = np.nan
    ok = np.isfinite(v)
    design = np.column_stack([cols[ok], rows[ok], np.ones(ok.sum())]).astype(float)
    (a, b, _), *_ = scipy.linalg.lstsq(design, v[ok])
    assert plane_fit_gradient(v) == pytest.approx(np.hypot(a, b), rel=1e-10)
    exact = 3.0 * cols - 4.0 * rows
    assert plane_fit_gradient(exact.astype(float)) == pytest.approx(5.0, rel=1e-12)


def test_plane_fit_too_few_pixels():
    v = np.full((10, 10), np.nan)
    v.flat[:29] = np.arange(29.0)
    assert np.isnan(plane_fit_gradient(v))
    v.flat[29] = 1.0
    assert np.isfinite(plane_fit_gradient(v))


def test_quality_row_against_direct_fits_reading(sample):
    path = sample[0]
    row = quality_row(read_maps(path))
    with fits.open(path) as h:  # independent read: DR17 Hα is 0-based plane 23
        f = h["EMLINE_GFLUX"].data[23].astype(float)
        fm = h["EMLINE_GFLUX_MASK"].data[23]
        v = h["EMLINE_GVEL"].data[23].astype(float)
        vm = h["EMLINE_GVEL_MASK"].data[23]
    F = np.where(fm & DEFAULT_MASK, np.nan, f)
    V = np.where(vm & DEFAULT_MASK, np.nan, v)
    both = np.isfinite(F) & np.isfinite(V)
    assert row["flux_max"] == pytest.approx(np.nanmax(F))
    assert row["flux_mean"] == pytest.approx(np.nanmean(F))
    assert row["vel_std"] == pytest.approx(np.std(V[np.isfinite(V)], ddof=0))
    assert row["flux_vel_corr"] == pytest.approx(scipy.stats.pearsonr(F[both], V[both])[0])
    assert row["mask_fraction"] == pytest.approx(np.isnan(V).mean())
    assert row["n_valid_spaxels"] == both.sum() and row["total_spaxels"] == F.size
    rows, cols = np.nonzero(np.isfinite(V))
    design = np.column_stack([cols, rows, np.ones(rows.size)]).astype(float)
    (a, b, _), *_ = scipy.linalg.lstsq(design, V[rows, cols])
    assert row["vel_grad"] == pytest.approx(np.hypot(a, b), rel=1e-8)
    assert row["status"] == "OK" and set(row) == set(QUALITY_COLUMNS)


def test_vel_grad_tracks_rotation_amplitude(tmp_path):
    base = SyntheticGalaxy(plateifu="8100-12701", vel_noise=1.0, inclination=60.0)
    grads = []
    for v_max in (50.0, 100.0, 200.0):
        p = write_synthetic_maps(tmp_path / f"manga-8100-1270{int(v_max) // 50}-MAPS.fits", dataclasses.replace(base, v_max=v_max), seed=1)
        grads.append(quality_row(read_maps(p))["vel_grad"])
    assert grads[1] / grads[0] == pytest.approx(2.0, rel=0.05)
    assert grads[2] / grads[1] == pytest.approx(2.0, rel=0.05)


def _maps_with_valid(tmp_path, valid_fn, reff=6.0, n=74):
    g = SyntheticGalaxy(plateifu="8200-12701", reff=reff, n=n, frac_bad=0.0, frac_unreliable=0.0)
    m = read_maps(write_synthetic_maps(tmp_path / "manga-8200-12701-MAPS.fits", g, seed=0))
    yy, xx = np.mgrid[0:n, 0:n]
    return dataclasses.replace(m, flux_valid=valid_fn(xx, yy))


def test_frac_valid_circle_uses_true_centre(tmp_path):
    n, reff = 74, 6.0
    r_lim = 1.5 * reff / 0.5
    c = (n - 1) / 2
    m = _maps_with_valid(tmp_path, lambda x, y: np.hypot(x - c, y - c) <= r_lim, reff, n)
    circle, _ = frac_valid_in_re(m, QualityConfig(re_method="circle"))
    legacy, _ = frac_valid_in_re(m, QualityConfig(re_method="legacy"))
    assert circle == 1.0
    assert legacy < 1.0  # the original's circle about (n/2, n/2) is half a pixel off


def test_frac_valid_ellipse_and_fallback(tmp_path):
    m = _maps_with_valid(tmp_path, lambda x, y: x < 37)
    inside = m.r_over_re <= 1.5
    expected = (m.flux_valid & inside).sum() / inside.sum()
    frac, ell = frac_valid_in_re(m, QualityConfig(re_method="ellipse"))
    assert frac == ell == pytest.approx(expected)
    no_re = dataclasses.replace(m, reff=float("nan"))
    assert frac_valid_in_re(no_re)[0] == pytest.approx(expected)  # falls back to R/Re plane
    neither = dataclasses.replace(no_re, r_over_re=None)
    assert np.isnan(frac_valid_in_re(neither)[0])


def test_flags(sample):
    table = quality_table(sample, progress=False)
    lowrot = table.iloc[2]  # role "low_rotation" in make_synthetic_sample
    assert lowrot["flag_low_rotation"] and not lowrot["usable"]
    assert table.iloc[0]["usable"]
    cfg = QualityConfig(low_flux=1e9)
    row = quality_row(read_maps(sample[0]), cfg)
    assert row["flag_low_flux"] and not row["usable"]


def test_bad_files_become_flagged_rows(sample, tmp_path):
    truncated = tmp_path / "manga-9999-1901-MAPS.fits.gz"
    truncated.write_bytes(sample[0].read_bytes()[:5000])
    missing = tmp_path / "manga-9998-1901-MAPS.fits.gz"
    table = quality_table([sample[0], truncated, missing], progress=False)
    assert list(table["status"].str[:5]) == ["OK", "ERROR", "ERROR"]
    assert "manga-9999-1901-MAPS.fits.gz" in table["status"].iloc[1]
    assert table["plateifu"].iloc[1] == "9999-1901"
    assert not table["usable"].iloc[1:].any()
    with pytest.raises(ValueError, match="manga-9999-1901"):
        quality_table([truncated], progress=False, strict=True)


def test_all_masked_map_is_flagged_not_nan_crash(tmp_path):
    hdul = synthetic_hdulist(SyntheticGalaxy(plateifu="8300-12701"), seed=0)
    for name in ("EMLINE_GFLUX_MASK", "EMLINE_GVEL_MASK"):
        hdul[name].data[:] |= DONOTUSE
    path = tmp_path / "manga-8300-12701-MAPS.fits"
    hdul.writeto(path)
    table = quality_table([path], progress=False)
    row = table.iloc[0]
    assert row["status"].startswith("EMPTY") and str(path) in row["status"]
    assert not row["usable"] and row["n_valid_spaxels"] == 0 and np.isnan(row["vel_grad"])


def test_one_unreliable_spaxel_cannot_turn_a_reject_into_an_elite_candidate(tmp_path):
    """Issue 12: a faint galaxy (flux_max < 50, a hard reject) with one Hα spaxel of 75,806
    flagged UNRELIABLE (bit 5). The default mask drops it, as Marvin does; keeping it (the old
    ``donotuse`` default) makes the galaxy an elite candidate. The table states the mask."""
    from glens_sim.lensability import score_table

    hdul = synthetic_hdulist(SyntheticGalaxy(plateifu="8400-12701", flux_peak=35.0, clump_amp=0.3), seed=0)
    flux, mask = hdul["EMLINE_GFLUX"].data, hdul["EMLINE_GFLUX_MASK"].data
    clean = np.argwhere(mask[23] == 0)
    row, col = clean[len(clean) // 2]
    flux[23, row, col] = 75806.0
    mask[23, row, col] |= UNRELIABLE
    path = tmp_path / "manga-8400-12701-MAPS.fits"
    hdul.writeto(path)

    default = score_table(quality_table([path], progress=False)).iloc[0]
    assert default["mask_mode"] == "unreliable" and default["mask_bits"] == "NOCOV|UNRELIABLE|DONOTUSE"
    assert default["flux_max"] < 50 and default["lens_hard_reject"] and default["lens_tier"] == "reject"
    assert "flux_max" in default["lens_notes"]
    lenient = score_table(quality_table([path], progress=False, mask="donotuse")).iloc[0]
    assert lenient["mask_bits"] == "DONOTUSE" and lenient["flux_max"] == 75806.0
    assert lenient["lens_tier"] == "elite"  # the fault the default mask prevents
