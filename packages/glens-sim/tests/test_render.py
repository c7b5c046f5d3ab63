"""Batched lensed Sérsic arcs against lenstronomy's ImageModel (the test-only peer)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from glens_sim.grid import origin_arcsec
from glens_sim.light import lenstronomy_amp
from glens_sim.psf import moffat_kernels
from glens_sim.render import render_sersic_arcs

pytest.importorskip("lenstronomy")
from lenstronomy.Data.pixel_grid import PixelGrid  # noqa: E402
from lenstronomy.Data.psf import PSF  # noqa: E402
from lenstronomy.ImSim.image_model import ImageModel  # noqa: E402
from lenstronomy.LensModel.lens_model import LensModel  # noqa: E402
from lenstronomy.LightModel.light_model import LightModel  # noqa: E402

N, PIX, S = 64, 0.262, 4
LENS = dict(theta_E=[1.2, 0.6, 2.0], e1=[0.1, 0.0, -0.2], e2=[-0.05, 0.0, 0.15],
            center_x=[0.03, 0.0, -0.05], center_y=[-0.02, 0.0, 0.04])
SHEAR = dict(gamma1=[0.03, 0.0, -0.06], gamma2=[-0.02, 0.0, 0.05])
SOURCE = dict(R_sersic=[0.3, 0.15, 0.5], n_sersic=[1.5, 0.5, 2.0], e1=[0.2, 0.0, -0.25],
              e2=[0.1, 0.0, 0.2], center_x=[0.15, 0.05, -0.3], center_y=[0.1, -0.05, 0.2])
FLUX = [[1.0, 2.5, 4.0], [0.3, 0.5, 0.8], [10.0, 12.0, 15.0]]  # nMgy, g r z
FWHM = [[1.4, 1.3, 1.2], [1.0, 0.95, 0.9], [1.7, 1.6, 1.5]]  # arcsec


def _batch(dtype=torch.float64):
    def t(d):
        return {k: torch.tensor(v, dtype=dtype) for k, v in d.items()}

    return t(LENS), t(SHEAR), t(SOURCE), torch.tensor(FLUX, dtype=dtype)


def _lenstronomy(i: int, band: int, kernel: np.ndarray | None) -> np.ndarray:
    o = origin_arcsec(N, PIX)
    grid = PixelGrid(nx=N, ny=N, transform_pix2angle=PIX * np.eye(2), ra_at_xy_0=o, dec_at_xy_0=o)
    psf = PSF("NONE") if kernel is None else PSF("PIXEL", kernel_point_source=kernel)
    model = ImageModel(grid, psf, lens_model_class=LensModel(["SIE", "SHEAR"]),
                       source_model_class=LightModel(["SERSIC_ELLIPSE"]),
                       kwargs_numerics={"supersampling_factor": S})
    src = {k: v[i] for k, v in SOURCE.items()}
    src["amp"] = lenstronomy_amp(FLUX[i][band], src["R_sersic"], src["n_sersic"])
    return model.image([{k: v[i] for k, v in LENS.items()}, {k: v[i] for k, v in SHEAR.items()}],
                       [src])


@pytest.mark.parametrize("refine", [1.0, 0.25], ids=["full-grid", "adaptive"])
@pytest.mark.parametrize("with_psf", [False, True], ids=["no-psf", "moffat-pixel-psf"])
def test_bands_match_lenstronomy_image_model(with_psf, refine):
    lens, shear, source, flux = _batch()
    kernels = moffat_kernels(torch.tensor(FWHM, dtype=torch.float64), PIX, 21) if with_psf \
        else None
    out = render_sersic_arcs(lens, shear, source, flux, kernels, n_pix=N, pixel_scale=PIX,
                             oversampling=S, refine_fraction=refine)
    assert out.images.shape == (3, 3, N, N) and out.lensed_flux.shape == (3, 3)
    assert out.magnification.shape == (3,)
    for i, band in ((0, 0), (0, 2), (1, 1), (2, 0)):
        ref = _lenstronomy(i, band, None if kernels is None else kernels[i, band].numpy())
        ours = out.images[i, band].numpy()
        assert np.max(np.abs(ours - ref)) <= 1e-3 * ref.max()
        if not with_psf:  # lensed flux before the PSF = the stamp sum
            # adaptive: the outskirts' centre samples move the total by < 1e-4
            rel = 1e-6 if refine == 1.0 else 1e-4
            assert float(out.lensed_flux[i, band]) == pytest.approx(ref.sum(), rel=rel)


def test_adaptive_oversampling_matches_the_full_grid():
    """The default adaptive grid (4x4 on the brightest quarter of the pixels) against the 4x4
    grid everywhere: stamps within 1e-4 of the peak, magnifications within 1e-4."""
    lens, shear, source, flux = _batch()
    kernels = moffat_kernels(torch.tensor(FWHM, dtype=torch.float64), PIX, 21)
    full = render_sersic_arcs(lens, shear, source, flux, kernels, refine_fraction=1.0)
    adaptive = render_sersic_arcs(lens, shear, source, flux, kernels)
    peak = full.images.amax(dim=(-2, -1), keepdim=True)
    assert float(((adaptive.images - full.images).abs() / peak).max()) < 1e-4
    np.testing.assert_allclose(adaptive.magnification.numpy(), full.magnification.numpy(),
                               rtol=1e-4)
    with pytest.raises(ValueError, match="refine_fraction"):
        render_sersic_arcs(lens, shear, source, flux, None, refine_fraction=0.0)


def test_magnification_is_measured_and_achromatic():
    lens, shear, source, flux = _batch()
    out = render_sersic_arcs(lens, shear, source, flux, None, n_pix=N, pixel_scale=PIX,
                             refine_fraction=1.0)
    # achromatic: lensed/unlensed flux is the same in every band, and equals the magnification
    # up to the part of the unlensed source the 4x4 grid misses (< 1 %)
    ratio = out.lensed_flux.numpy() / flux.numpy()
    np.testing.assert_allclose(ratio, ratio[:, :1] * np.ones((1, 3)), rtol=1e-10)
    np.testing.assert_allclose(ratio[:, 0], out.magnification.numpy(), rtol=1e-2)
    # magnification = lenstronomy's lensed stamp sum / its unlensed stamp sum (same grid)
    o = origin_arcsec(N, PIX)
    grid = PixelGrid(nx=N, ny=N, transform_pix2angle=PIX * np.eye(2), ra_at_xy_0=o, dec_at_xy_0=o)
    unlensed = ImageModel(grid, PSF("NONE"), source_model_class=LightModel(["SERSIC_ELLIPSE"]),
                          kwargs_numerics={"supersampling_factor": S})
    for i in range(3):
        src = {k: v[i] for k, v in SOURCE.items()}
        src["amp"] = lenstronomy_amp(1.0, src["R_sersic"], src["n_sersic"])
        mu = _lenstronomy(i, 0, None).sum() / FLUX[i][0] / unlensed.image(kwargs_source=[src]).sum()
        assert float(out.magnification[i]) == pytest.approx(mu, rel=1e-6)
        assert float(out.magnification[i]) > 2  # strongly lensed sources inside the caustic
    # a negligible lens leaves the source unmagnified
    weak = dict(lens, theta_E=torch.full((3,), 1e-8, dtype=torch.float64))
    none = dict(gamma1=torch.zeros(3, dtype=torch.float64), gamma2=torch.zeros(3,
                                                                               dtype=torch.float64))
    out = render_sersic_arcs(weak, none, source, flux, None, n_pix=N, pixel_scale=PIX)
    np.testing.assert_allclose(out.magnification.numpy(), 1.0, rtol=1e-6)


def test_images_only_skip_the_unlensed_pass_and_match():
    lens, shear, source, flux = _batch()
    k = moffat_kernels(torch.tensor(FWHM, dtype=torch.float64), PIX, 21)
    both = render_sersic_arcs(lens, shear, source, flux, k, n_pix=N, pixel_scale=PIX)
    only = render_sersic_arcs(lens, shear, source, flux, k, n_pix=N, pixel_scale=PIX,
                              magnification=False)
    assert only.magnification is None
    torch.testing.assert_close(only.images, both.images, rtol=0, atol=0)
    torch.testing.assert_close(only.lensed_flux, both.lensed_flux, rtol=0, atol=0)


def test_float32_agrees_with_float64():
    b64 = _batch(torch.float64)
    b32 = _batch(torch.float32)
    k = moffat_kernels(torch.tensor(FWHM, dtype=torch.float64), PIX, 21)
    o64 = render_sersic_arcs(*b64, k, n_pix=N, pixel_scale=PIX)
    o32 = render_sersic_arcs(*b32, k.float(), n_pix=N, pixel_scale=PIX)
    assert o32.images.dtype == torch.float32
    peak = o64.images.amax(dim=(-2, -1), keepdim=True).numpy()
    assert np.max(np.abs(o32.images.numpy() - o64.images.numpy()) / peak) < 1e-4
    np.testing.assert_allclose(o32.magnification.numpy(), o64.magnification.numpy(), rtol=1e-4)


def test_bad_inputs_name_the_culprit():
    lens, shear, source, flux = _batch()
    with pytest.raises(ValueError, match=r"lens.*missing \['theta_E'\]"):
        render_sersic_arcs({k: v for k, v in lens.items() if k != "theta_E"}, shear, source,
                           flux, None)
    with pytest.raises(ValueError, match=r"source\['n_sersic'\] must have shape \(3,\)"):
        render_sersic_arcs(lens, shear, dict(source, n_sersic=torch.ones(2)), flux, None)
    with pytest.raises(ValueError, match="unexpected \\['gamma'\\]"):
        render_sersic_arcs(lens, dict(shear, gamma=shear["gamma1"]), source, flux, None)
    with pytest.raises(ValueError, match="oversampling"):
        render_sersic_arcs(lens, shear, source, flux, None, oversampling=2)
    with pytest.raises(ValueError, match="psf must be"):
        render_sersic_arcs(lens, shear, source, flux, torch.ones(3, 2, 5, 5))
    with pytest.raises(ValueError, match=r"flux must be \(B, C\)"):
        render_sersic_arcs(lens, shear, source, flux[0], None)


def test_lens_core_imports_no_plotting_or_table_libraries():
    """Issue 7 §1: importing the lens core pulls in numpy and torch only."""
    import subprocess
    import sys

    code = ("import sys; import glens_sim.render, glens_sim.lensing, glens_sim.light, "
            "glens_sim.grid, glens_sim.profiles, glens_sim.psf; "
            "print(sorted(m for m in ('matplotlib', 'pandas', 'astropy') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
