"""Survey I/O: bands, the bricks table and lookup, brick files, cutouts (bricks, service FITS, real npz), synthetic bricks."""

from __future__ import annotations

import math
import os
from pathlib import Path

import astropy.units as u
import numpy as np
import pandas as pd
import pytest
from astropy.io import fits

from dhs_inject.bands import AB_ZERO_POINT, BANDS, mag_to_nmgy, nmgy_to_mag, parse_bands
from dhs_inject.bricks import brick_file, brick_rows, lookup_bricks, read_brick, read_bricks_table
from dhs_inject.cutouts import center_crop, cut_cutouts, iter_brick_cutouts, read_cutout_fits, read_cutout_npz, \
    write_cutout_fits
from dhs_inject.synthetic import BRICKS_TABLE_NAME, sky_sigma_from_psfdepth, write_synthetic_survey

SHARED = Path(os.environ.get("DHS_SHARED", Path(__file__).resolve().parents[3] / ".." / "shared")).resolve() / "data"
pytestmark = pytest.mark.skipif(not (SHARED / "dhs_upstream").is_dir(),
                                reason=f"shared data not found under {SHARED} (set DHS_SHARED to the shared folder)")
PARENT = SHARED / "dhs_upstream" / "lrg_parent" / "phase3_lrg_parent_catalog_total_lrg_v3.parquet"
CUTOUTS = SHARED / "dhs_upstream" / "cutouts"


@pytest.fixture(scope="module")
def parent() -> pd.DataFrame:
    cat = pd.read_parquet(PARENT)
    return cat[(cat["z_mag"] > 17) & (cat["TYPE"] != "PSF")]


@pytest.fixture(scope="module")
def survey(tmp_path_factory, parent):
    root = tmp_path_factory.mktemp("h2survey")
    hosts = write_synthetic_survey(root, parent, n_bricks=2, seed=3, lrgs_per_brick=12, brick_pix=256,
                                   host_margin_pix=34)
    return root, hosts, read_bricks_table(root / BRICKS_TABLE_NAME)


def test_magnitudes_match_astropy_ab_system():
    mags = np.array([18.0, 22.5, 25.3])
    expected = (mags * u.ABmag).to(u.Jy).value / 3.631e-6          # 1 nMgy = 3.631 µJy (AB)
    np.testing.assert_allclose(mag_to_nmgy(mags), expected, rtol=1e-4)   # astropy: 3630.78 Jy, not 3631
    np.testing.assert_allclose(nmgy_to_mag(mag_to_nmgy(mags)), mags)
    assert mag_to_nmgy(AB_ZERO_POINT) == pytest.approx(1.0)
    assert np.isnan(nmgy_to_mag(-1.0))
    assert parse_bands("zg") == ("g", "z")
    with pytest.raises(ValueError, match="'i'"):
        parse_bands("gri")


def test_synthetic_survey_layout_table_and_lookup(survey):
    root, hosts, table = survey
    assert list(hosts.columns[:3]) == ["RA", "DEC", "BRICKNAME"]
    for name in table["brickname"]:
        for b in BANDS:
            for kind in ("image", "invvar"):
                path = brick_file(root, name, kind, b)
                assert path.name == f"legacysurvey-{name}-{kind}-{b}.fits.fz"
                assert path.parent == root / "coadd" / name[:3] / name
                with fits.open(path) as hdul:
                    assert isinstance(hdul[1], fits.CompImageHDU)
                    assert hdul[1].header["CTYPE1"] == "RA---TAN"
                    assert abs(hdul[1].header["CD2_2"] * 3600 - 0.262) < 1e-9
    np.testing.assert_array_equal(lookup_bricks(table, hosts["RA"], hosts["DEC"]), hosts["BRICKNAME"])
    with pytest.raises(ValueError, match=r"position 1 \(ra=10\.000000"):
        lookup_bricks(table, [hosts["RA"].iloc[0], 10.0], [hosts["DEC"].iloc[0], 0.0])
    with pytest.raises(ValueError, match="unknown brick '1234p567'"):
        brick_rows(table, ["1234p567"])
    for col in ("psfsize_g", "psfsize_r", "psfsize_z", "psfdepth_g", "psfdepth_r", "psfdepth_z", "ebv"):
        assert (table[col] > 0).all()


def test_cutout_geometry_matches_wcs_and_brick_pixels(survey):
    root, hosts, table = survey
    name = table["brickname"].iloc[0]
    brick = read_brick(root, name)
    assert brick.image.shape == (3, 256, 256) and brick.image.dtype == np.float32
    sel = hosts[hosts["BRICKNAME"] == name]
    for size in (64, 101):
        cut = cut_cutouts(brick, sel["RA"], sel["DEC"], size)
        assert cut.image.shape == (len(sel), 3, size, size) and cut.maskbits.shape == (len(sel), size, size)
        x, y = brick.wcs.all_world2pix(sel["RA"].to_numpy(), sel["DEC"].to_numpy(), 0)
        for i in range(len(sel)):
            xi, yi = int(math.floor(x[i] + 0.5)), int(math.floor(y[i] + 0.5))
            # the host's pixel lands at (N//2, N//2); the cutout's pixels are the brick's
            assert cut.x0[i] == xi - size // 2 and cut.y0[i] == yi - size // 2
            if cut.cutout_ok[i]:
                np.testing.assert_array_equal(cut.image[i, :, size // 2, size // 2], brick.image[:, yi, xi])
                np.testing.assert_array_equal(cut.invvar[i], brick.invvar[:, yi - size // 2:yi - size // 2 + size,
                                                                          xi - size // 2:xi - size // 2 + size])
    # hosts are placed >= 34 px from the edge: all 64-px cutouts are inside; the 101-px ones of edge hosts are not
    assert cut_cutouts(brick, sel["RA"], sel["DEC"], 64).cutout_ok.all()


def test_cutout_partial_off_edge_is_flagged_and_zero_padded_and_off_brick_is_an_error(survey):
    root, hosts, table = survey
    brick = read_brick(root, table["brickname"].iloc[0])
    ra, dec = brick.wcs.all_pix2world([5.0, 128.0], [128.0, 128.0], 0)
    cut = cut_cutouts(brick, ra, dec, 64)
    assert cut.cutout_ok.tolist() == [False, True]
    assert (cut.image[0, :, :, :64 // 2 - 5] == 0).all() and (cut.invvar[0, :, :, :27] == 0).all()
    ra_off, dec_off = brick.wcs.all_pix2world([300.0], [10.0], 0)
    with pytest.raises(ValueError, match=r"object 0 .* is off brick"):
        cut_cutouts(brick, ra_off, dec_off, 64)


def test_zero_invvar_is_flagged_and_nan_or_missing_band_is_an_error(survey, tmp_path):
    root, hosts, table = survey
    name = table["brickname"].iloc[1]
    import shutil
    bad = tmp_path / "bad"
    shutil.copytree(root / "coadd", bad / "coadd")
    # zero invvar at a host's pixel in z: flagged (cutout_ok False), zero_invvar_frac reported
    brick = read_brick(bad, name)
    sel = hosts[hosts["BRICKNAME"] == name].iloc[:1]
    x, y = brick.wcs.all_world2pix(sel["RA"].to_numpy(), sel["DEC"].to_numpy(), 0)
    inv = brick.invvar.copy()
    inv[2, int(round(y[0])) - 1:int(round(y[0])) + 2, int(round(x[0])) - 1:int(round(x[0])) + 2] = 0
    path = brick_file(bad, name, "invvar", "z")
    with fits.open(path) as hdul:
        hdr = hdul[1].header
    fits.HDUList([fits.PrimaryHDU(), fits.CompImageHDU(inv[2], header=hdr, quantize_level=0)]).writeto(path, overwrite=True)
    cut = cut_cutouts(read_brick(bad, name), sel["RA"], sel["DEC"], 64)
    assert not cut.cutout_ok[0]
    assert cut.zero_invvar_frac[0, 2] == pytest.approx(9 / 64**2) and cut.zero_invvar_frac[0, 0] == 0
    # NaN invvar: an error naming the file
    inv[2, 0, 0] = np.nan          # (fpack cannot hold NaN losslessly: an uncompressed HDU under the same name)
    fits.HDUList([fits.PrimaryHDU(), fits.ImageHDU(inv[2], header=fits.Header())]).writeto(path, overwrite=True)
    with pytest.raises(ValueError, match=r"invvar-z\.fits\.fz: 1 non-finite"):
        read_brick(bad, name)
    # a brick missing a band
    brick_file(bad, name, "image", "g").unlink()
    with pytest.raises(FileNotFoundError, match=f"brick '{name}' is missing band 'g'"):
        read_brick(bad, name)
    with pytest.raises(FileNotFoundError, match="no folder"):
        read_brick(bad, "0000p000")


def test_iter_brick_cutouts_reads_each_brick_once(survey):
    root, hosts, _ = survey
    frame = pd.DataFrame({"ra_deg": hosts["RA"], "dec_deg": hosts["DEC"], "brickname": hosts["BRICKNAME"]})
    seen = []
    for pos, cut in iter_brick_cutouts(root, frame.iloc[::-1].reset_index(drop=True), 64):
        seen.extend(pos.tolist())
        assert cut.image.shape == (len(pos), 3, 64, 64)
    assert sorted(seen) == list(range(len(frame)))
    with pytest.raises(ValueError, match="missing column 'ra_deg'"):
        next(iter_brick_cutouts(root, frame.drop(columns="ra_deg")))


def test_synthetic_noise_follows_invvar_and_psfdepth(survey):
    root, hosts, table = survey
    row = table.iloc[0]
    brick = read_brick(root, row["brickname"])
    # an empty corner patch: pixel std equals 1/sqrt(invvar)
    patch, inv = brick.image[:, :24, :24], brick.invvar[:, :24, :24]
    if (brick.maskbits[:24, :24] & 0b1111111110).any():
        patch, inv = brick.image[:, -24:, -24:], brick.invvar[:, -24:, -24:]
    for c, b in enumerate(BANDS):
        sigma = 1 / np.sqrt(np.median(inv[c]))
        assert patch[c].std() == pytest.approx(sigma, rel=0.15)
        # psfdepth = 1/var of optimal point-source photometry with a Gaussian PSF: var = sigma^2 / sum(P^2)
        s = row[f"psfsize_{b}"] / 2.3548 / 0.262
        xx = np.arange(-40, 41)
        g = np.exp(-0.5 * (xx[:, None] ** 2 + xx[None, :] ** 2) / s**2)
        g /= g.sum()
        sig_pix = sky_sigma_from_psfdepth(row[f"psfdepth_{b}"], row[f"psfsize_{b}"])
        assert 1 / (sig_pix**2 / (g**2).sum()) == pytest.approx(row[f"psfdepth_{b}"], rel=1e-3)
    # the stored invvar is 1/sigma_pix^2 up to fpack quantisation (lossy RICE_1, as in the survey)
    assert sig_pix == pytest.approx(1 / np.sqrt(np.median(brick.invvar[2])), rel=1e-2)


def test_synthetic_host_carries_catalogue_flux_and_is_centred(tmp_path, parent):
    # one isolated exponential host, no star: its light in a wide aperture is the catalogue flux
    row = parent[(parent["TYPE"] == "EXP") & (parent["z_mag"] < 19.5)].iloc[[0]]
    hosts = write_synthetic_survey(tmp_path, row, n_bricks=1, seed=1, lrgs_per_brick=1, brick_pix=160,
                                   host_margin_pix=79, n_stars=(0, 0))
    brick = read_brick(tmp_path, hosts["BRICKNAME"].iloc[0])
    cut = cut_cutouts(brick, hosts["RA"], hosts["DEC"], 101)
    yy, xx = np.mgrid[:101, :101]
    aper = (xx - 50) ** 2 + (yy - 50) ** 2 < 45**2
    for c, b in enumerate(BANDS):
        flux = cut.image[0, c][aper].sum()
        noise = np.sqrt(aper.sum() / np.median(cut.invvar[0, c]))
        assert abs(flux - row[f"FLUX_{b.upper()}"].iloc[0]) < 0.03 * row[f"FLUX_{b.upper()}"].iloc[0] + 4 * noise
    core = cut.image[0, 2, 48:53, 48:53]
    assert np.unravel_index(core.argmax(), core.shape) in {(2, 2), (1, 2), (2, 1), (3, 2), (2, 3)}


def test_maskbits_are_realistic(survey):
    root, _, table = survey
    masks = [read_brick(root, n).maskbits for n in table["brickname"]]
    bits = np.bitwise_or.reduce([np.bitwise_or.reduce(m.ravel()) for m in masks])
    assert bits & 1 and bits & (1 << 8)                 # NPRIMARY border, WISEM1 halo
    assert bits & ((1 << 1) | (1 << 11))                # BRIGHT or MEDIUM
    assert bits & (1 << 3)                              # SATUR_R core
    frac = np.mean([(m != 0).mean() for m in masks])
    assert 0.05 < frac < 0.9


def test_real_npz_cutouts_all_six():
    files = sorted(CUTOUTS.glob("*.npz"))
    assert len(files) == 6
    for path in files:
        cut, meta = read_cutout_npz(path)
        assert cut.image.shape == (1, 3, 101, 101) and cut.image.dtype == np.float32 and cut.bands == ("g", "r", "z")
        assert cut.invvar is None and cut.cutout_ok[0] == bool(np.isfinite(cut.image).all())
        assert np.isfinite(cut.image).all() and meta["nan_frac"] == 0
        assert meta["size"] == 101 and meta["pixel_scale"] == pytest.approx(0.262)
        assert isinstance(meta["ra"], float) and -90 <= meta["dec"] <= 90
        assert meta["brickname"] == meta["galaxy_id"].split("_")[0]
        stamp = center_crop(cut.image[0], 64)
        assert stamp.shape == (3, 64, 64)
        np.testing.assert_array_equal(stamp, np.moveaxis(np.load(path)["cutout"], -1, 0)[:, 18:82, 18:82])
        # LRG-like host: centre brighter than the outskirts in every band, z > g
        core = cut.image[0, :, 48:53, 48:53].mean(axis=(1, 2))
        assert (core > np.median(cut.image[0], axis=(1, 2))).all() and core[2] > core[0]


def test_service_fits_cutout_roundtrip_and_errors(tmp_path):
    cube = np.random.default_rng(0).normal(size=(3, 21, 21)).astype(np.float32)
    path = write_cutout_fits(tmp_path / "c.fits", cube[[2, 0, 1]], "zgr", 150.1, 2.2)
    cut, wcs = read_cutout_fits(path)
    assert cut.bands == BANDS
    np.testing.assert_array_equal(cut.image[0], cube)                # planes z, g, r reordered to g, r, z
    ra, dec = wcs.all_pix2world(10, 10, 0)
    assert (float(ra), float(dec)) == pytest.approx((150.1, 2.2))
    hdr = fits.getheader(path)
    del hdr["BANDS"]
    fits.writeto(tmp_path / "nob.fits", cube, hdr)
    with pytest.raises(ValueError, match="no BANDS header"):
        read_cutout_fits(tmp_path / "nob.fits")
    nan = cube.copy()
    nan[1, 3, 3] = np.nan
    cut, _ = read_cutout_fits(write_cutout_fits(tmp_path / "n.fits", nan, "grz", 1.0, 1.0))
    assert not cut.cutout_ok[0]


def test_synthetic_writer_checks_its_input(tmp_path, parent):
    with pytest.raises(ValueError, match=r"missing column\(s\) \['FLUX_Z'\]"):
        write_synthetic_survey(tmp_path, parent.drop(columns="FLUX_Z"), 1, 0)
    with pytest.raises(ValueError, match="distinct bricks"):
        write_synthetic_survey(tmp_path, parent, n_bricks=1000)
    with pytest.raises(ValueError, match="brick '9999p999' has no row"):
        write_synthetic_survey(tmp_path, parent, bricknames=["0347m150", "9999p999"])
    hosts = write_synthetic_survey(tmp_path, parent, seed=2, lrgs_per_brick=2, brick_pix=96, host_margin_pix=20,
                                   bricknames=["3220p120", "0347m150"])
    assert hosts["BRICKNAME"].tolist() == ["3220p120"] * 2 + ["0347m150"] * 2
