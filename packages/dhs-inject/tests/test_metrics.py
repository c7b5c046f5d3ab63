"""Per-row metrics on arrays whose answers can be computed by hand."""

import numpy as np
import pytest

from dhs_inject import metrics


def _one(h: int = 5, w: int = 5) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    arc = np.zeros((1, h, w))
    ivar = np.full((1, h, w), 4.0)  # sigma = 0.5 nMgy
    good = np.ones((1, h, w), bool)
    return arc, ivar, good


def test_peak_matched_and_annulus_snr_by_hand() -> None:
    arc, ivar, good = _one()
    arc[0, 2, 3] = 3.0  # r = 1 px from the centre (2, 2)
    arc[0, 0, 2] = 4.0  # r = 2 px
    assert metrics.arc_peak_snr(arc, ivar, good)[0] == pytest.approx(8.0)  # 4 * sqrt(4)
    assert metrics.arc_snr(arc, ivar, good)[0] == pytest.approx(np.sqrt((9 + 16) * 4.0))  # 10
    # annulus 2 <= r <= 2: pixels at distance exactly 2 are (0,2), (4,2), (2,0), (2,4): N = 4, sigma 0.5
    assert metrics.arc_annulus_snr(arc, ivar, good, 2.0, 2.0)[0] == pytest.approx(4.0 / np.sqrt(4 * 0.25))
    good[0, 0, 2] = False  # a bad pixel drops out of all three
    assert metrics.arc_peak_snr(arc, ivar, good)[0] == pytest.approx(6.0)
    assert metrics.arc_snr(arc, ivar, good)[0] == pytest.approx(6.0)
    assert metrics.arc_annulus_snr(arc, ivar, good, 2.0, 2.0)[0] == pytest.approx(0.0)


def test_no_good_pixel_gives_nan_not_zero() -> None:
    arc, ivar, good = _one()
    good[:] = False
    assert np.isnan(metrics.arc_peak_snr(arc + 1, ivar, good)[0])
    assert np.isnan(metrics.arc_annulus_snr(arc + 1, ivar, good)[0])


def test_good_pixels_and_bad_pixel_frac_from_maskbits() -> None:
    maskbits = np.zeros((1, 2, 2), np.int32)
    maskbits[0, 0, 0] = 1 << 1  # BRIGHT: bad
    maskbits[0, 0, 1] = 1 << 8  # WISEM1: not a bad bit for r
    ivar = np.ones((1, 2, 2))
    ivar[0, 1, 1] = 0.0  # no data
    good = metrics.good_pixels(maskbits, ivar)
    assert good.tolist() == [[[False, True], [True, False]]]
    assert metrics.bad_pixel_frac(good)[0] == pytest.approx(0.5)


def test_lensed_hlr_of_a_ring() -> None:
    arc, _, _ = _one(9, 9)
    r = metrics.radius_pix((9, 9))
    arc[0][(r > 2.9) & (r < 3.1)] = 1.0  # the 4 pixels at r = 3
    arc[0, 4, 4] = 4.0  # centre carries as much as the ring
    # half the flux (4 of 8) is inside r = 0: the cumulative curve reaches 4 at the centre pixel
    assert metrics.lensed_hlr_arcsec(arc, 0.5)[0] == pytest.approx(0.0)
    arc[0, 4, 4] = 0.0
    assert metrics.lensed_hlr_arcsec(arc, 0.5)[0] == pytest.approx(1.5)  # all flux at 3 px = 1.5"
    assert np.isnan(metrics.lensed_hlr_arcsec(np.zeros((1, 9, 9)), 0.5)[0])


def test_flux_ratio_and_physics_valid() -> None:
    arc = np.ones((2, 3, 4, 4))
    arc[1, 2] = 2.0
    assert metrics.arc_flux(arc).tolist() == [[16, 16, 16], [16, 16, 32]]
    assert metrics.theta_e_over_psf(np.array([0.65]), np.array([1.3]))[0] == pytest.approx(0.5)
    stamp = np.zeros((4, 3, 4, 4))
    stamp[3, 0, 0, 0] = np.nan
    mu = np.array([2.0, 0.0, np.inf, 3.0])
    assert metrics.physics_valid(mu, stamp, np.zeros_like(stamp)).tolist() == [True, False, False, False]
