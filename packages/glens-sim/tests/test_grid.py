"""Stamp grids in arcsec: the centre convention and lenstronomy's pixel grid."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from glens_sim.grid import origin_arcsec, pixel_coordinates, pixel_grid

pytest.importorskip("lenstronomy")
from lenstronomy.Data.pixel_grid import PixelGrid  # noqa: E402


@pytest.mark.parametrize("n", [64, 101, 5])
def test_centre_pixel_is_the_origin_and_axes_grow_with_index(n):
    x, y = pixel_grid(n, 0.262, dtype=torch.float64, sparse=False)
    assert x.shape == y.shape == (n, n)
    assert float(x[n // 2, n // 2]) == 0.0 and float(y[n // 2, n // 2]) == 0.0
    assert float(x[0, 1] - x[0, 0]) == pytest.approx(0.262)  # x grows with the column
    assert float(y[1, 0] - y[0, 0]) == pytest.approx(0.262)  # y grows with the row
    assert float(x[0, 0]) == pytest.approx(origin_arcsec(n, 0.262))


@pytest.mark.parametrize("n", [64, 101])
def test_matches_lenstronomy_pixel_grid(n):
    pix = 0.262
    o = origin_arcsec(n, pix)
    grid = PixelGrid(nx=n, ny=n, transform_pix2angle=pix * np.eye(2), ra_at_xy_0=o, dec_at_xy_0=o)
    ra, dec = grid.pixel_coordinates
    x, y = pixel_grid(n, pix, dtype=torch.float64, sparse=False)
    np.testing.assert_allclose(x.numpy(), ra, atol=1e-12)
    np.testing.assert_allclose(y.numpy(), dec, atol=1e-12)


@pytest.mark.parametrize("s", [1, 2, 4, 5])
def test_subpixels_are_centred_in_their_pixel(s):
    n, pix = 6, 0.262
    sub = pixel_coordinates(n, pix, s, dtype=torch.float64).reshape(n, s)
    np.testing.assert_allclose(sub.mean(dim=1).numpy(), (np.arange(n) - n // 2) * pix,
                               atol=1e-14)
    np.testing.assert_allclose(np.diff(sub.reshape(-1).numpy()), pix / s, rtol=1e-12)
    x, y = pixel_grid(n, pix, s)
    assert x.shape == (1, n * s) and y.shape == (n * s, 1) and x.dtype == torch.float32


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match="n_pix"):
        pixel_grid(0, 0.262)
    with pytest.raises(ValueError, match="pixel_scale"):
        pixel_grid(64, -1.0)
    with pytest.raises(ValueError, match="oversampling"):
        pixel_grid(64, 0.262, 0)
