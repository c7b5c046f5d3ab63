"""Synthetic MAPS writer: DR17 layout and header conventions, physics of the fake galaxy."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from astropy.io import fits

from glens_sim.maps_io import DR17_EMLINE_CHANNELS, read_maps
from glens_sim.synthetic import (
    MAPS_EXTENSIONS,
    SyntheticGalaxy,
    make_synthetic_sample,
    synthetic_hdulist,
    write_synthetic_maps,
)

DONOTUSE, NOCOV, UNRELIABLE = 1 << 30, 1, 1 << 5


@pytest.fixture(scope="module")
def galaxy() -> SyntheticGalaxy:
    return SyntheticGalaxy(plateifu="8001-12702", inclination=60.0, pa=120.0, v_max=220.0, v_sys=0.0)


@pytest.fixture(scope="module")
def hdul(galaxy):
    return synthetic_hdulist(galaxy, seed=11)


def test_hdu_order_and_dtypes(hdul):
    names = [h.name for h in hdul]
    assert names[0] == "PRIMARY" and tuple(names[1:]) == MAPS_EXTENSIONS
    assert names.index("EMLINE_GFLUX") == 30 and names.index("EMLINE_GVEL") == 37
    assert names.index("STELLAR_VEL") == 15
    assert hdul["EMLINE_GFLUX"].data.dtype == np.float32
    assert hdul["EMLINE_GFLUX_MASK"].data.dtype == np.int32
    assert hdul["EMLINE_GFLUX"].data.shape == (35, 74, 74)
    assert hdul["SPECINDEX"].data is None  # absent module → empty extension


def test_header_conventions(hdul, galaxy):
    p = hdul[0].header
    for key in ("PLATEIFU", "MANGAID", "VERSDRP3", "DAPTYPE", "BINKEY", "REFF", "ECOOPA", "ECOOELL", "SCINPVEL"):
        assert key in p
    assert p["MASKNAME"] == "MANGA_DAPPIXMASK" and p["DAPQUAL"] == 0
    assert p["ECOOELL"] == pytest.approx(1 - galaxy.ba)
    h = hdul["EMLINE_GFLUX"].header
    assert h["HDUCLAS1"] == "CUBE" and h["HDUCLAS2"] == "DATA"
    assert h["ERRDATA"] == "EMLINE_GFLUX_IVAR" and h["QUALDATA"] == "EMLINE_GFLUX_MASK"
    assert [h[f"C{i:02d}"] for i in range(1, 36)] == list(DR17_EMLINE_CHANNELS)
    assert h["C24"] == "Ha-6564" and h["C25"] == "NII-6585"
    assert h["CD1_1"] < 0 < h["CD2_2"] and h["CRPIX1"] == 74 / 2 + 1
    q = hdul["EMLINE_GVEL_MASK"].header
    assert q["HDUCLAS3"] == "FLAG32BIT" and q["SCIDATA"] == "EMLINE_GVEL"
    assert hdul["EMLINE_GVEL_IVAR"].header["HDUCLAS3"] == "INVMSE"
    e = hdul["SPX_ELLCOO"].header
    assert (e["C1"], e["C2"]) == ("Elliptical radius", "R/Re")


def test_footprint_masks(hdul, galaxy):
    mask = hdul["EMLINE_GFLUX_MASK"].data
    flux = hdul["EMLINE_GFLUX"].data
    ivar = hdul["EMLINE_GFLUX_IVAR"].data
    outside = (mask[23] & NOCOV) != 0
    assert np.all(mask[23][outside] == NOCOV | DONOTUSE)
    assert np.all(flux[23][outside] == 0) and np.all(ivar[23][outside] == 0)
    # hexagon area 3√3/2 R² relative to the square
    expected = 3 * np.sqrt(3) / 2 * galaxy.r_hex**2 / galaxy.size**2
    assert (~outside).mean() == pytest.approx(expected, rel=0.05)
    corners = outside[[0, 0, -1, -1], [0, -1, 0, -1]]
    assert corners.all() and not outside[galaxy.size // 2, galaxy.size // 2]
    # UNRELIABLE-only spaxels exist and keep their value; masks differ between channels
    unrel = mask[23] == UNRELIABLE
    assert unrel.sum() > 5 and np.all(flux[23][unrel] != 0)
    assert np.any(mask[23] != mask[24])


def test_neighbouring_channels_differ(hdul):
    flux = hdul["EMLINE_GFLUX"].data.astype(float)
    mask = hdul["EMLINE_GFLUX_MASK"].data
    for k in range(34):
        ok = ((mask[k] | mask[k + 1]) & DONOTUSE) == 0
        assert np.abs(flux[k][ok] - flux[k + 1][ok]).mean() > 0.5, k
    # Hα is the brightest line and peaks near the galaxy centre
    ok = (mask[23] & DONOTUSE) == 0
    assert flux[23][ok].max() > 2 * flux[24][(mask[24] & DONOTUSE) == 0].max()


def test_gas_velocity_tied_and_rotating(hdul, galaxy):
    vel = hdul["EMLINE_GVEL"].data.astype(float)
    mask = hdul["EMLINE_GVEL_MASK"].data
    ok = ((mask[23] | mask[5]) & DONOTUSE) == 0
    np.testing.assert_array_equal(vel[23][ok], vel[5][ok])
    # receding half along the PA (east of north): sky x = east = -(col - c), y = north = +(row - c)
    n = galaxy.size
    c = (n - 1) / 2
    r_pix = 2.0 * galaxy.reff / 0.5
    pa = np.radians(galaxy.pa)
    col = int(round(c - r_pix * np.sin(pa)))
    row = int(round(c + r_pix * np.cos(pa)))
    col2, row2 = int(round(2 * c - col)), int(round(2 * c - row))
    v_expect = galaxy.v_max * (2 / np.pi) * np.arctan(2 * galaxy.reff / galaxy.r_turn) * np.sin(np.radians(galaxy.inclination))
    assert vel[23, row, col] == pytest.approx(v_expect, abs=4 * galaxy.vel_noise)
    assert vel[23, row2, col2] == pytest.approx(-v_expect, abs=4 * galaxy.vel_noise)


def test_spx_coordinates(hdul, galaxy):
    sky = hdul["SPX_SKYCOO"].data
    ell = hdul["SPX_ELLCOO"].data
    assert np.all(np.diff(sky[0], axis=1) == pytest.approx(-0.5))  # x decreases with column
    assert np.all(np.diff(sky[1], axis=0) == pytest.approx(0.5))
    np.testing.assert_allclose(ell[1], ell[0] / galaxy.reff, rtol=1e-5)
    assert ell[3].min() >= 0 and ell[3].max() < 360


@pytest.mark.parametrize("n", [34, 54, 62, 72])
def test_map_sizes_round_trip(tmp_path, n):
    g = SyntheticGalaxy(plateifu=f"7000-{n}01", ifu=19 if n == 34 else 61, n=n, reff=3.0)
    path = write_synthetic_maps(tmp_path / f"manga-7000-{n}01-MAPS.fits.gz", g, seed=n)
    m = read_maps(path)
    assert m.shape == (n, n) and m.flux_valid.sum() > 100


def test_deterministic_and_atomic(tmp_path, galaxy):
    a = write_synthetic_maps(tmp_path / "a.fits.gz", galaxy, seed=5)
    b = write_synthetic_maps(tmp_path / "b.fits.gz", galaxy, seed=5)
    c = write_synthetic_maps(tmp_path / "c.fits.gz", galaxy, seed=6)
    assert a.read_bytes() == b.read_bytes() != c.read_bytes()
    assert a.read_bytes()[:2] == b"\x1f\x8b"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.fits.gz", "b.fits.gz", "c.fits.gz"]
    d = write_synthetic_maps(tmp_path, galaxy, seed=5)  # a folder → DR17 file name
    assert d.name == "manga-8001-12702-MAPS-HYB10-MILESHC-MASTARHC2.fits.gz"


def test_make_synthetic_sample(tmp_path):
    paths = make_synthetic_sample(tmp_path, n=5, seed=1, progress=False)
    assert len(paths) == 5 and all(p.exists() for p in paths)
    truth = pd.read_csv(tmp_path / "synthetic-galaxies.csv")
    assert list(truth["role"]) == ["disc", "disc", "low_rotation", "disc", "poor_coverage"]
    assert {read_maps(p).plateifu for p in paths} == set(truth["plateifu"])
    with fits.open(tmp_path / "dapall-synthetic.fits") as h:
        assert h[1].name == "HYB10-MILESHC-MASTARHC2" and h[1].header["ELG24"] == "Ha-6564"
        assert h[1].data["EMLINE_GFLUX_1RE"].shape == (7, 35)  # 5 galaxies + 2 decoys
    with fits.open(tmp_path / "drpall-synthetic.fits") as h:
        assert h[1].name == "MANGA" and len(h[1].data) == 7
