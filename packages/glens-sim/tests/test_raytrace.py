"""Ray tracing: lensed images equal lenstronomy's ImageModel + INTERPOL on the same grid."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from glens_sim.raytrace import (image_grid, lens_flux_velocity, lens_image, pixel_centres,
                                ray_shoot, sample_source)

pytest.importorskip("lenstronomy")
from lenstronomy.Data.pixel_grid import PixelGrid  # noqa: E402
from lenstronomy.Data.psf import PSF  # noqa: E402
from lenstronomy.ImSim.image_model import ImageModel  # noqa: E402
from lenstronomy.LensModel.lens_model import LensModel  # noqa: E402
from lenstronomy.LightModel.light_model import LightModel  # noqa: E402

N = 48
STEP = 2.0 / (N - 1)


def _source(n: int = N) -> np.ndarray:
    """Inclined exponential disc (spec §6.1 recipe), max-normalised, on linspace(-1, 1, n)."""
    c = np.linspace(-1, 1, n)
    y, x = np.meshgrid(c, c, indexing="ij")
    inc, pa = np.radians(55), np.radians(30)
    xp = x * np.cos(pa) + y * np.sin(pa)
    yp = (-x * np.sin(pa) + y * np.cos(pa)) / np.cos(inc)
    f = np.exp(-np.hypot(xp - 0.05, yp) / 0.15)
    return f / f.max()


def _lenstronomy_image(source: np.ndarray, lenses, supersampling: int) -> np.ndarray:
    grid = PixelGrid(nx=N, ny=N, transform_pix2angle=STEP * np.eye(2), ra_at_xy_0=-1.0,
                     dec_at_xy_0=-1.0)
    model = ImageModel(grid, PSF("NONE"), lens_model_class=LensModel([n for n, _ in lenses]),
                       source_model_class=LightModel(["INTERPOL"]),
                       kwargs_numerics={"supersampling_factor": supersampling})
    kwargs_source = [dict(image=source, amp=1.0, center_x=0.0, center_y=0.0, phi_G=0.0,
                          scale=STEP)]
    # ImageModel returns flux per pixel = surface brightness x pixel area
    return model.image(kwargs_lens=[k for _, k in lenses], kwargs_source=kwargs_source) / STEP**2


LENSES = {
    "SIS": [("SIS", dict(theta_E=0.5))],
    "SIS+subSIS": [("SIS", dict(theta_E=0.5)),
                   ("SIS", dict(theta_E=0.05, center_x=0.6, center_y=0.0))],
    "SIE+SHEAR+TNFW": [("SIE", dict(theta_E=0.45, e1=0.15, e2=-0.08, center_x=0.02)),
                       ("SHEAR", dict(gamma1=0.04, gamma2=0.02)),
                       ("TNFW", dict(Rs=0.05, alpha_Rs=0.04, r_trunc=0.2, center_x=-0.3,
                                     center_y=0.45))],
    "NFW": [("NFW", dict(Rs=0.6, alpha_Rs=0.5, center_y=-0.05))],
}


@pytest.mark.parametrize("supersampling", [1, 3])
@pytest.mark.parametrize("lens", list(LENSES))
def test_lensed_image_equals_lenstronomy_interpol(lens, supersampling):
    source = _source()
    ref = _lenstronomy_image(source, LENSES[lens], supersampling)
    assert ref.max() > 0.3  # the arc is on the grid
    ours64 = lens_image(torch.from_numpy(source)[None, None], LENSES[lens],
                        supersampling=supersampling)[0, 0]
    assert ours64.dtype == torch.float64
    np.testing.assert_allclose(ours64.numpy(), ref, rtol=0, atol=1e-12)
    ours32 = lens_image(torch.from_numpy(source).float()[None, None], LENSES[lens],
                        supersampling=supersampling)[0, 0]
    assert ours32.dtype == torch.float32
    np.testing.assert_allclose(ours32.numpy(), ref, rtol=0, atol=2e-5)


def test_pixel_centres_and_supersampling_offsets():
    np.testing.assert_allclose(pixel_centres(5).numpy(), np.linspace(-1, 1, 5))
    sub = pixel_centres(3, half_width=1.0, supersampling=3).numpy()
    step = 1.0
    expected = np.repeat([-1.0, 0.0, 1.0], 3) + np.tile([-step / 3, 0.0, step / 3], 3)
    np.testing.assert_allclose(sub, expected, atol=1e-15)
    x, y = image_grid(4, 2.0)
    assert x.shape == (4, 4) and torch.all(x[:, 1] > x[:, 0]) and torch.all(y[1] > y[0])


def test_unlensed_image_is_the_source():
    source = torch.rand(3, 2, 20, 20, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    out = lens_image(source, [])
    torch.testing.assert_close(out, source, rtol=0, atol=1e-13)
    # zero-strength lens and per-sample zero parameters are the identity too
    zero = torch.zeros(3, dtype=torch.float64)
    out = lens_image(source, [("SIS", {"theta_E": zero, "center_x": zero})])
    torch.testing.assert_close(out, source, rtol=0, atol=1e-13)


def test_flux_conserved_for_a_translation_and_by_supersampling():
    """A (locally) uniform deflection moves a smooth source without changing its flux; a
    smooth source's total flux does not depend on the supersampling."""
    c = np.linspace(-1, 1, 64)
    y, x = np.meshgrid(c, c, indexing="ij")
    source = torch.from_numpy(np.exp(-((x / 0.15) ** 2 + (y / 0.1) ** 2) / 2))[None, None]
    total = source.sum()
    far = [("SIS", dict(theta_E=0.2, center_x=-1e8, center_y=0.0))]  # alpha = (0.2, 0) + O(1e-9)
    shifted = lens_image(source, far)
    assert abs(shifted.sum() / total - 1) < 1e-6
    assert shifted.sum() > 0 and not torch.allclose(shifted, source)
    for s in (2, 3, 5):
        assert abs(lens_image(source, [], supersampling=s).sum() / total - 1) < 2e-3


def test_sis_magnification_of_a_compact_source():
    """Total magnification of a small source at offset beta < theta_E behind an SIS is
    2 theta_E / beta (image-plane flux / source-plane flux, surface brightness conserved)."""
    n, theta_E, beta = 201, 0.5, 0.2
    c = np.linspace(-1, 1, n)
    y, x = np.meshgrid(c, c, indexing="ij")
    source = torch.from_numpy(np.exp(-((x - beta) ** 2 + y**2) / (2 * 0.015**2)))[None, None]
    image = lens_image(source, [("SIS", dict(theta_E=theta_E))], supersampling=3)
    mu = float(image.sum() / source.sum())
    assert mu == pytest.approx(2 * theta_E / beta, rel=0.01)


def test_batch_parameters_match_single_renders():
    source = torch.from_numpy(_source())[None, None].expand(3, 1, N, N)
    theta = torch.tensor([0.3, 0.5, 0.7], dtype=torch.float64)
    sub_x = torch.tensor([0.5, -0.2, 0.1], dtype=torch.float64)
    batch = lens_image(source, [("SIS", {"theta_E": theta}),
                                ("SIS", {"theta_E": 0.05, "center_x": sub_x})],
                       supersampling=2)
    for i in range(3):
        single = lens_image(source[i:i + 1], [("SIS", {"theta_E": float(theta[i])}),
                                              ("SIS", {"theta_E": 0.05,
                                                       "center_x": float(sub_x[i])})],
                            supersampling=2)
        torch.testing.assert_close(batch[i], single[0], rtol=0, atol=1e-14)


def test_edge_modes():
    source = torch.ones(1, 1, 8, 8, dtype=torch.float64)
    far = [("SIS", dict(theta_E=1.5, center_x=-1e5))]  # beta = theta - 1.5 (uniform)
    zero = lens_image(source, far, edge="zero")
    clamp = lens_image(source, far, edge="clamp")
    assert zero[..., :5].abs().max() < 1e-12  # rays beyond the source box + 1 px see nothing
    torch.testing.assert_close(clamp, torch.ones_like(clamp))
    with pytest.raises(ValueError, match="edge"):
        lens_image(source, far, edge="wrap")


def test_flux_velocity_moments():
    """F v moments: uniform velocity gives FV = v F; ray_shoot broadcasts sparse grids."""
    flux = torch.from_numpy(_source())
    source = torch.stack((flux, torch.full_like(flux, 0.3)))[None]
    moments = lens_flux_velocity(source, LENSES["SIS"], supersampling=3)
    torch.testing.assert_close(moments[:, 1], 0.3 * moments[:, 0], rtol=1e-12, atol=1e-15)
    xs, ys = image_grid(6, sparse=True)
    bx, by = ray_shoot(xs, ys, LENSES["SIS"])
    xd, yd = image_grid(6)
    cx, cy = ray_shoot(xd, yd, LENSES["SIS"])
    torch.testing.assert_close(bx, cx) and torch.testing.assert_close(by, cy)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")
def test_cuda_matches_cpu():
    source = torch.from_numpy(_source())[None, None]
    cpu = lens_image(source, LENSES["SIS+subSIS"], supersampling=3)
    gpu = lens_image(source.cuda(), LENSES["SIS+subSIS"], supersampling=3)
    assert gpu.device.type == "cuda"
    torch.testing.assert_close(gpu.cpu(), cpu, rtol=0, atol=1e-12)


def test_sample_source_at_pixel_centres_and_between():
    square = torch.arange(9, dtype=torch.float64).reshape(1, 1, 3, 3)
    bx = torch.tensor([[-2.0, 0.0, 1.0]], dtype=torch.float64)
    by = torch.tensor([[-2.0, 2.0, 0.0]], dtype=torch.float64)
    out = sample_source(square, bx, by, half_width=2.0)[0, 0, 0]
    # (x=-2,y=-2) -> [0,0]=0; (x=0,y=2) -> [2,1]=7; (x=1,y=0) -> midway [1,1]=4 and [1,2]=5
    torch.testing.assert_close(out, torch.tensor([0.0, 7.0, 4.5], dtype=torch.float64))
