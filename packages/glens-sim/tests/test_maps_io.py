"""MAPS reader: channel by name, masks, IVAR, gas/stellar velocity, bad input."""

from __future__ import annotations

import gzip
import re
from pathlib import Path

import numpy as np
import pytest
from astropy.io import fits

from glens_sim.maps_io import (
    DR17_EMLINE_CHANNELS,
    MapsFormatError,
    channel_dictionary,
    good_pixels,
    read_maps,
)
from glens_sim.synthetic import SyntheticGalaxy, write_synthetic_maps

N = 8
BIT = {"NOCOV": 1, "NOVALUE": 1 << 4, "UNRELIABLE": 1 << 5, "MULTICOMP": 1 << 10, "DONOTUSE": 1 << 30}


def _cube_hdu(name: str, data: np.ndarray, channels, extra: dict | None = None) -> fits.ImageHDU:
    hdr = fits.Header()
    for i, c in enumerate(channels, start=1):
        hdr[f"C{i:02d}"] = c + " "  # trailing blank as in real files; astropy strips it
    for k, v in (extra or {}).items():
        hdr[k] = v
    return fits.ImageHDU(data=data, header=hdr, name=name)


def _hand_made(path: Path, channels=DR17_EMLINE_CHANNELS, *, drop: str | None = None) -> Path:
    """A minimal MAPS-like file written without glens_sim: plane k of every cube holds a value
    that encodes k (flux 1000+k, ivar 1/(k+1), gas velocity 10k), so a wrong plane is visible."""
    nch = len(channels)
    k = np.arange(nch, dtype=np.float32)[:, None, None]
    ones = np.ones((nch, N, N), dtype=np.float32)
    mask = np.zeros((nch, N, N), dtype=np.int32)
    # pixel pattern in row 0: clean, UNRELIABLE-only, DONOTUSE|NOVALUE, MULTICOMP-only
    mask[:, 0, 1] = BIT["UNRELIABLE"]
    mask[:, 0, 2] = BIT["DONOTUSE"] | BIT["NOVALUE"]
    mask[:, 0, 3] = BIT["MULTICOMP"]
    hdus = [
        fits.PrimaryHDU(header=fits.Header([("PLATEIFU", "1234-5678"), ("REFF", 3.0)])),
        _cube_hdu("EMLINE_GFLUX", (1000 + k) * ones, channels,
                  {"ERRDATA": "EMLINE_GFLUX_IVAR", "QUALDATA": "EMLINE_GFLUX_MASK"}),
        _cube_hdu("EMLINE_GFLUX_IVAR", (1 / (k + 1)) * ones, channels),
        _cube_hdu("EMLINE_GFLUX_MASK", mask, channels),
        _cube_hdu("EMLINE_GVEL", (10 * k) * ones, channels),
        _cube_hdu("EMLINE_GVEL_IVAR", (2 / (k + 1)) * ones, channels),
        _cube_hdu("EMLINE_GVEL_MASK", mask, channels),
        fits.ImageHDU(np.full((N, N), -55.0, np.float32), name="STELLAR_VEL"),
        fits.ImageHDU(np.full((N, N), 0.25, np.float32), name="STELLAR_VEL_IVAR"),
        fits.ImageHDU(np.zeros((N, N), np.int32), name="STELLAR_VEL_MASK"),
    ]  # fmt: skip
    hdus = [h for h in hdus if h.name != drop]
    fits.HDUList(hdus).writeto(path)
    return path


@pytest.fixture(scope="module")
def hand_made(tmp_path_factory) -> Path:
    return _hand_made(tmp_path_factory.mktemp("maps") / "manga-1234-5678-MAPS.fits.gz")


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory) -> tuple[Path, SyntheticGalaxy]:
    g = SyntheticGalaxy(plateifu="8000-12701", center_offset=(2.0, -1.5), inclination=60.0, pa=40.0)
    return write_synthetic_maps(tmp_path_factory.mktemp("syn"), g, seed=3), g


def test_channel_dictionary_is_one_based():
    hdr = fits.Header([("C01", "OII-3727 "), ("C24", "Ha-6564"), ("CTYPE1", "RA---TAN"), ("C3", "x")])
    assert channel_dictionary(hdr) == {"OII-3727": 0, "Ha-6564": 23, "x": 2}


def test_halpha_selected_by_name_not_index(hand_made):
    m = read_maps(hand_made)
    assert m.channel == 23 and m.line == "Ha-6564"
    assert np.all(m.flux == 1023.0)  # plane 23; plane 24 (NII-6585) would give 1024
    assert np.allclose(m.flux_ivar, 1 / 24)
    assert np.all(m.velocity == 230.0)
    assert np.allclose(m.vel_ivar, 2 / 24)
    assert m.plateifu == "1234-5678" and m.reff == 3.0


def test_other_line_and_legacy_index(hand_made):
    nii = read_maps(hand_made, line="NII-6585")
    assert np.all(nii.flux == 1024.0) and nii.channel == 24
    legacy = read_maps(hand_made, legacy_channel_index=24)
    assert legacy.line == "NII-6585" and np.all(legacy.flux == 1024.0) and np.all(legacy.velocity == 240.0)


def test_permuted_channel_order(tmp_path):
    channels = list(DR17_EMLINE_CHANNELS[-5:] + DR17_EMLINE_CHANNELS[:-5])  # Hα now at index 28
    path = _hand_made(tmp_path / "manga-1-2-MAPS.fits", channels=channels)
    m = read_maps(path)
    assert m.channel == 28
    assert np.all(m.flux == 1028.0) and np.all(m.velocity == 280.0)


@pytest.mark.parametrize(
    "mode, expected",
    [("donotuse", [True, True, False, True]), ("unreliable", [True, False, False, True]),
     ("any", [True, False, False, False])],
)  # fmt: skip
def test_mask_modes(hand_made, mode, expected):
    m = read_maps(hand_made, mask=mode)
    assert m.flux_valid[0, :4].tolist() == expected
    assert m.vel_valid[0, :4].tolist() == expected
    assert m.flux_valid[1:].all()
    # flagged-but-measured spaxels keep their value; NaN only in the masked view
    assert m.flux[0, 1] == 1023.0
    assert np.isnan(m.flux_masked[0, 2])


def test_good_pixels_rejects_unknown_mode():
    with pytest.raises(ValueError, match="mask mode"):
        good_pixels(np.zeros(3, int), "strict")


def test_stellar_velocity(hand_made):
    m = read_maps(hand_made, velocity="stellar")
    assert np.all(m.velocity == -55.0) and np.allclose(m.vel_ivar, 0.25)
    assert m.velocity_source == "stellar"


def test_synthetic_gas_vs_stellar_against_astropy(synthetic):
    path, g = synthetic
    gas = read_maps(path)
    star = read_maps(path, velocity="stellar")
    with fits.open(path) as h:
        assert h["EMLINE_GFLUX"].header["C24"] == "Ha-6564"
        gvel = h["EMLINE_GVEL"].data[23].astype(float)
        gmask = h["EMLINE_GVEL_MASK"].data[23]
        svel = h["STELLAR_VEL"].data.astype(float)
        binid = h["BINID"].data[1]
        flux = h["EMLINE_GFLUX"].data[23].astype(float)
        ivar = h["EMLINE_GFLUX_IVAR"].data[23].astype(float)
    np.testing.assert_array_equal(gas.velocity, gvel)
    # default mask: Marvin's NOCOV | UNRELIABLE | DONOTUSE
    np.testing.assert_array_equal(gas.vel_valid, (gmask & (1 | 1 << 5 | 1 << 30)) == 0)
    np.testing.assert_array_equal(gas.flux, flux)
    np.testing.assert_array_equal(gas.flux_ivar, ivar)
    np.testing.assert_array_equal(star.velocity, svel)
    # stellar velocities are piecewise constant over the BINID (stellar continua) bins
    for b in np.unique(binid[binid >= 0])[:10]:
        assert np.ptp(star.velocity[(binid == b) & star.vel_valid]) == 0
    both = gas.vel_valid & star.vel_valid
    assert np.abs(gas.velocity[both] - star.velocity[both]).mean() > 5.0
    # IVAR: 1/sigma^2 where measured, 0 under DONOTUSE
    assert np.allclose(gas.flux_ivar[gas.flux_valid], 1 / g.flux_noise**2)
    assert np.all(gas.flux_ivar[(gas.flux_mask & (1 << 30)) != 0] == 0)


def test_synthetic_neighbouring_channels_differ(synthetic):
    path, g = synthetic
    ha = read_maps(path)
    for other in ("NII-6549", "NII-6585"):
        o = read_maps(path, line=other)
        ok = ha.flux_valid & o.flux_valid
        assert np.median(np.abs(ha.flux[ok] - o.flux[ok])) > 1.0
    # Hα peaks at the galaxy centre (centre offset (2, -1.5) px from the array centre)
    cx, cy = ha.center_pix
    iy, ix = np.unravel_index(np.nanargmax(np.where(ha.flux_valid, ha.flux, -np.inf)), ha.shape)
    assert np.hypot(ix - cx, iy - cy) < 4.0
    assert cx == pytest.approx((g.size - 1) / 2 + 2.0, abs=1e-6)
    assert cy == pytest.approx((g.size - 1) / 2 - 1.5, abs=1e-6)


def test_metadata(synthetic):
    path, g = synthetic
    m = read_maps(path)
    assert m.plateifu == g.plateifu and m.reff == pytest.approx(g.reff)
    assert m.spaxel_scale == 0.5 and m.psf_fwhm == pytest.approx(g.rfwhm)
    assert m.r_over_re is not None and m.r_over_re.shape == m.shape
    assert np.isfinite(m.center_radec).all()


def test_missing_file(tmp_path):
    with pytest.raises(MapsFormatError, match="no such MAPS file"):
        read_maps(tmp_path / "manga-1-2-MAPS.fits.gz")


@pytest.mark.parametrize("hdu", ["EMLINE_GVEL", "EMLINE_GFLUX_MASK", "STELLAR_VEL"])
def test_missing_hdu_named(tmp_path, hdu):
    path = _hand_made(tmp_path / "manga-1-2-MAPS.fits", drop=hdu)
    velocity = "stellar" if hdu == "STELLAR_VEL" else "gas"
    with pytest.raises(MapsFormatError, match=rf"manga-1-2-MAPS\.fits.*{hdu}"):
        read_maps(path, velocity=velocity)


def test_missing_channel_named(tmp_path):
    channels = [c if c != "Ha-6564" else "Hx-0000" for c in DR17_EMLINE_CHANNELS]
    path = _hand_made(tmp_path / "manga-1-2-MAPS.fits", channels=channels)
    with pytest.raises(MapsFormatError, match=r"manga-1-2-MAPS\.fits.*no channel 'Ha-6564'"):
        read_maps(path)
    assert issubclass(MapsFormatError, ValueError)


def test_truncated_gzip(hand_made, tmp_path):
    raw = hand_made.read_bytes()
    bad = tmp_path / "manga-9-9-MAPS.fits.gz"
    bad.write_bytes(raw[: len(raw) // 2])
    with pytest.raises(MapsFormatError, match=r"manga-9-9-MAPS\.fits\.gz.*truncated"):
        read_maps(bad)


def test_truncated_plain_fits_and_garbage(hand_made, tmp_path):
    plain = gzip.decompress(hand_made.read_bytes())
    bad = tmp_path / "manga-9-8-MAPS.fits"
    bad.write_bytes(plain[: len(plain) - 1000])
    with pytest.raises(MapsFormatError, match="manga-9-8-MAPS.fits"):
        read_maps(bad)
    junk = tmp_path / "manga-9-7-MAPS.fits"
    junk.write_bytes(b"not a fits file" * 192)  # 2880 bytes
    with pytest.raises(MapsFormatError, match="manga-9-7-MAPS.fits"):
        read_maps(junk)


def test_bad_arguments(hand_made):
    with pytest.raises(ValueError, match="velocity"):
        read_maps(hand_made, velocity="dark")
    with pytest.raises(ValueError, match="mask mode"):
        read_maps(hand_made, mask="none")


def _edited(src: Path, dst: Path, edit) -> Path:
    with fits.open(src) as hdul:
        hdul = fits.HDUList([h.copy() for h in hdul])
    edit(hdul)
    hdul.writeto(dst)
    return dst


def test_swapped_channel_names_in_one_extension(hand_made, tmp_path):
    """Issue 12: Hα and [N II] 6585 swapped in EMLINE_GFLUX_IVAR only → an error naming the file
    and the extension (each extension resolved alone would read another line's IVAR)."""
    def swap(hdul):
        hdr = hdul["EMLINE_GFLUX_IVAR"].header
        hdr["C24"], hdr["C25"] = hdr["C25"], hdr["C24"]

    path = _edited(hand_made, tmp_path / "manga-7-1-MAPS.fits", swap)
    with pytest.raises(MapsFormatError, match=r"manga-7-1-MAPS\.fits.*EMLINE_GFLUX_IVAR.*Ha-6564"):
        read_maps(path)

    def swap_velocity(hdul):
        for name in ("EMLINE_GVEL", "EMLINE_GVEL_IVAR", "EMLINE_GVEL_MASK"):
            hdr = hdul[name].header
            hdr["C24"], hdr["C25"] = hdr["C25"], hdr["C24"]

    path = _edited(hand_made, tmp_path / "manga-7-2-MAPS.fits", swap_velocity)
    with pytest.raises(MapsFormatError, match=r"manga-7-2-MAPS\.fits.*EMLINE_GVEL"):
        read_maps(path)


def test_velocity_fill_value_and_negative_ivar(hand_made, tmp_path):
    def huge(hdul):
        hdul["EMLINE_GVEL"].data[23, 4, 5] = 1e30

    path = _edited(hand_made, tmp_path / "manga-7-3-MAPS.fits", huge)
    with pytest.raises(MapsFormatError, match=r"manga-7-3-MAPS\.fits.*EMLINE_GVEL.*row 4, col 5.*1e\+30"):
        read_maps(path)

    def negative(hdul):
        hdul["EMLINE_GFLUX_IVAR"].data[23, 2, 3] = -0.5

    path = _edited(hand_made, tmp_path / "manga-7-4-MAPS.fits", negative)
    with pytest.raises(MapsFormatError, match=r"manga-7-4-MAPS\.fits.*EMLINE_GFLUX_IVAR.*negative.*row 2, col 3"):
        read_maps(path)


def test_html_page_saved_as_fits_gz(tmp_path):
    page = tmp_path / "manga-7-5-MAPS-HYB10-MILESHC-MASTARHC2.fits.gz"
    page.write_text("<!DOCTYPE html>\n<html><head><title>404 Not Found</title></head></html>\n")
    with pytest.raises(MapsFormatError, match=r"manga-7-5-MAPS.*not a FITS file.*DOCTYPE"):
        read_maps(page)


@pytest.mark.parametrize("key,value,what", [
    ("REFF", "1E999", "is not finite"), ("REFF", "-3.0", "is outside (0, 3600]"), ("REFF", "0.0", "is outside (0"),
    ("REFF", "'six'", "is not a number"), ("REFF", "T", "is not a number"), ("OBJRA", "400.0", "is outside [0, 360]"),
    ("OBJRA", "-1E999", "is not finite"), ("OBJDEC", "-95.0", "is outside [-90, 90]"),
    ("RFWHM", "0.0", "is outside (0, 60]"), ("RFWHM", "1E30", "is outside (0, 60]"),
])  # fmt: skip
def test_primary_header_values_must_be_finite_and_physical(tmp_path, key, value, what):
    """Each value is written as raw card bytes (astropy refuses to write inf), so the reader sees it as a file would."""
    good = tmp_path / "good.fits"
    _hand_made(good)
    with fits.open(good) as h:
        h[0].header.update({"OBJRA": 180.0, "OBJDEC": 30.0, "RFWHM": 2.5})
        h.writeto(good, overwrite=True)
    raw = good.read_bytes()
    at = next(i for i in range(0, 2880 * 4, 80) if raw[i:i + 8] == key.ljust(8).encode())
    bad = tmp_path / "manga-1234-5678-MAPS.fits"
    bad.write_bytes(raw[:at] + f"{key:<8}= {value:>20}".ljust(80).encode() + raw[at + 80:])
    assert read_maps(good).reff == 3.0  # the untouched file reads
    card = at // 80 + 1
    with pytest.raises(MapsFormatError, match=re.escape(f"{bad}: PRIMARY header card {card} {key} = ") + ".*"
                       + re.escape(what)):
        read_maps(bad)


@pytest.mark.parametrize("card,value,what", [
    (b"NAXIS3  = ", b"-8", "NAXIS3 = -8 is outside"),  # found by fuzzing: astropy looped forever on it
    (b"NAXIS1  = ", b"-1", "NAXIS1 = -1 is outside"), (b"BITPIX  = ", b"7", "BITPIX = 7 is not one of"),
    (b"GCOUNT  = ", b"0", "GCOUNT = 0 is outside"), (b"NAXIS   = ", b"3.5e", "NAXIS = '3.5e' is not an integer"),
])  # fmt: skip
def test_corrupt_header_structure_fails_fast(hand_made, tmp_path, card, value, what):
    """Structural keywords are checked before astropy walks the file (a negative NAXIS3 made astropy seek
    backwards and read the same HDUs forever); a hang here dumps the traceback and ends the run."""
    import faulthandler

    raw = bytearray(gzip.decompress(hand_made.read_bytes()))
    at = raw.index(card, 2880)  # in the first extension
    raw[at:at + 80] = (card + value).ljust(80)
    bad = tmp_path / "manga-1234-5678-MAPS.fits"
    bad.write_bytes(bytes(raw))
    faulthandler.dump_traceback_later(60, exit=True)
    try:
        with pytest.raises(MapsFormatError, match=re.escape(f"{bad}: ") + ".*" + re.escape(what)):
            read_maps(bad)
    finally:
        faulthandler.cancel_dump_traceback_later()


def test_header_without_end_is_refused_after_a_bounded_read(tmp_path):
    cards = [b"SIMPLE  =                    T", b"BITPIX  =                    8", b"NAXIS   =                    0"]
    raw = b"".join(c.ljust(80) for c in cards) + b"COMMENT x".ljust(80) * (36 * 200 - 3)
    bad = tmp_path / "manga-1-2-MAPS.fits"
    bad.write_bytes(raw)
    with pytest.raises(MapsFormatError, match=r"HDU 0 .* has no END card within 288000 bytes"):
        read_maps(bad)
