"""PSF kernels and convolution against SciPy and lenstronomy."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy import ndimage

from glens_sim import LensSimConfig
from glens_sim.psf import (convolution_matrix, convolve, gaussian_kernel, gaussian_kernel1d,
                           moffat_kernel, psf_kernel)


@pytest.mark.parametrize("sigma", [0.5, 1.0, 2.3])
def test_kernels_are_normalised(sigma):
    assert float(gaussian_kernel1d(sigma).sum()) == pytest.approx(1.0, abs=1e-15)
    assert float(gaussian_kernel(sigma).sum()) == pytest.approx(1.0, abs=1e-14)
    assert float(moffat_kernel(2.3548 * sigma, 2.5).sum()) == pytest.approx(1.0, abs=1e-14)
    for cfg in (LensSimConfig(psf_sigma=sigma), LensSimConfig(psf_sigma=sigma, psf_type="moffat")):
        assert float(psf_kernel(cfg).sum()) == pytest.approx(1.0, abs=1e-6)


def test_moffat_has_the_requested_fwhm():
    fwhm, beta = 8.0, 3.0
    k = moffat_kernel(fwhm, beta, radius=20)
    profile = k[20, 20:] / k[20, 20]
    # half maximum at r = fwhm/2 = 4 px exactly (a pixel centre)
    assert float(profile[4]) == pytest.approx(0.5, rel=1e-12)


def test_no_psf_configs():
    assert psf_kernel(LensSimConfig(psf_type="none")) is None
    assert psf_kernel(LensSimConfig(psf_sigma=0.0)) is None
    img = torch.rand(1, 2, 5, 5)
    assert convolve(img, None) is img


@pytest.mark.parametrize(("padding", "mode"), [("replicate", "nearest"), ("zeros", "constant"),
                                               ("symmetric", "reflect")])
@pytest.mark.parametrize("truncate", [4.0, 5.0])
def test_gaussian_equals_scipy_gaussian_filter(padding, mode, truncate):
    rng = np.random.default_rng(0)
    images = rng.random((2, 2, 23, 19))
    ours = convolve(torch.from_numpy(images), gaussian_kernel1d(1.3, truncate), padding).numpy()
    ref = np.stack([[ndimage.gaussian_filter(c, 1.3, mode=mode, truncate=truncate) for c in b]
                    for b in images])
    np.testing.assert_allclose(ours, ref, rtol=0, atol=1e-14)
    ours2d = convolve(torch.from_numpy(images), gaussian_kernel(1.3, truncate), padding).numpy()
    np.testing.assert_allclose(ours2d, ref, rtol=0, atol=1e-14)


@pytest.mark.parametrize(("padding", "mode"), [("replicate", "nearest"), ("zeros", "constant"),
                                               ("symmetric", "reflect")])
def test_asymmetric_2d_kernel_is_a_true_convolution(padding, mode):
    rng = np.random.default_rng(1)
    image = rng.random((17, 21))
    kernel = rng.random((5, 3))
    ours = convolve(torch.from_numpy(image)[None, None], torch.from_numpy(kernel), padding)
    np.testing.assert_allclose(ours[0, 0].numpy(), ndimage.convolve(image, kernel, mode=mode),
                               rtol=0, atol=1e-13)
    k1 = torch.from_numpy(rng.random(5))
    ours1 = convolve(torch.from_numpy(image)[None, None], k1, padding)[0, 0].numpy()
    ref1 = ndimage.convolve1d(ndimage.convolve1d(image, k1.numpy(), axis=0, mode=mode),
                              k1.numpy(), axis=1, mode=mode)
    np.testing.assert_allclose(ours1, ref1, rtol=0, atol=1e-13)


def test_convolution_conserves_flux_of_a_compact_source():
    image = torch.zeros(1, 1, 41, 41, dtype=torch.float64)
    image[0, 0, 18:23, 15:19] = torch.rand(5, 4, dtype=torch.float64)
    for kernel in (gaussian_kernel1d(2.0), moffat_kernel(4.0, 2.5)):
        for padding in ("zeros", "replicate", "symmetric"):
            out = convolve(image, kernel, padding)
            assert float(out.sum()) == pytest.approx(float(image.sum()), rel=1e-12)


def test_convolution_matrix_rows_sum_to_one_except_zero_padding():
    k = gaussian_kernel1d(1.5)
    for padding in ("replicate", "symmetric"):
        torch.testing.assert_close(convolution_matrix(30, k, padding).sum(1),
                                   torch.ones(30, dtype=torch.float64))
    edge = convolution_matrix(30, k, "zeros").sum(1)
    assert edge[0] < 0.8 and float(edge[15]) == pytest.approx(1.0)


def test_matches_lenstronomy_gaussian_psf():
    pytest.importorskip("lenstronomy")
    from lenstronomy.Data.psf import PSF
    from lenstronomy.ImSim.Numerics.convolution import PixelKernelConvolution  # noqa: F401

    rng = np.random.default_rng(2)
    image = rng.random((32, 32))
    sigma_px, step = 1.0, 2.0 / 63
    psf = PSF("GAUSSIAN", fwhm=2.3548200450309493 * sigma_px * step, truncation=5)
    from lenstronomy.ImSim.Numerics.numerics import Numerics
    from lenstronomy.Data.pixel_grid import PixelGrid

    grid = PixelGrid(nx=32, ny=32, transform_pix2angle=step * np.eye(2), ra_at_xy_0=-1,
                     dec_at_xy_0=-1)
    ref = Numerics(grid, psf).convolution_class.convolution2d(image)
    ours = convolve(torch.from_numpy(image)[None, None],
                    psf_kernel(LensSimConfig(psf_sigma=sigma_px), dtype=torch.float64),
                    "replicate")[0, 0].numpy()
    np.testing.assert_allclose(ours, ref, rtol=0, atol=1e-13)


def test_bad_inputs():
    with pytest.raises(ValueError, match="sigma"):
        gaussian_kernel1d(0.0)
    with pytest.raises(ValueError, match="odd"):
        convolve(torch.zeros(1, 1, 4, 4), torch.ones(4))
    with pytest.raises(ValueError, match="padding"):
        convolve(torch.zeros(1, 1, 4, 4), torch.ones(3), "wrap")


# ---------------------------------------------------------------------------------------------
# Per-sample, per-band kernels (B, C, k, k) and linear convolution (issue 7 §1)
# ---------------------------------------------------------------------------------------------
from scipy import signal  # noqa: E402

from glens_sim.psf import convolve_linear, gaussian_kernels, moffat_kernels  # noqa: E402


def test_batched_kernels_are_normalised_with_the_requested_fwhm():
    fwhm = torch.tensor([[1.0, 1.3, 1.6], [0.9, 1.2, 2.0]], dtype=torch.float64)
    pix = 0.262
    for make in (moffat_kernels, gaussian_kernels):
        k = make(fwhm, pix, 41)
        assert k.shape == (2, 3, 41, 41) and k.dtype == torch.float64
        np.testing.assert_allclose(k.sum(dim=(-2, -1)).numpy(), 1.0, rtol=1e-12)
    # Moffat entries equal the single-kernel function (same FWHM in pixels, beta)
    k = moffat_kernels(fwhm, pix, 41, beta=3.5)
    single = moffat_kernel(float(fwhm[1, 2]) / pix, 3.5, radius=20)
    np.testing.assert_allclose(k[1, 2].numpy(), single.numpy(), rtol=1e-12)
    # Gaussian: half maximum at FWHM/2 along an axis (FWHM = 4 px exactly here)
    g = gaussian_kernels(torch.tensor([[4 * pix]], dtype=torch.float64), pix, 21)[0, 0]
    assert float(g[10, 12] / g[10, 10]) == pytest.approx(0.5, rel=1e-12)


@pytest.mark.parametrize("method", ["fft", "direct", "auto"])
def test_linear_convolution_equals_scipy_fftconvolve_same(method):
    rng = np.random.default_rng(0)
    images = torch.from_numpy(rng.normal(size=(2, 3, 24, 20)))
    kernels = torch.from_numpy(rng.uniform(size=(2, 3, 9, 9)))
    out = convolve_linear(images, kernels, method)
    assert out.shape == images.shape
    for b in range(2):
        for c in range(3):
            ref = signal.fftconvolve(images[b, c].numpy(), kernels[b, c].numpy(), mode="same")
            np.testing.assert_allclose(out[b, c].numpy(), ref, atol=1e-12)


def test_linear_convolution_never_wraps_around():
    """A point source at the left edge spreads light only inwards (circular FFT would put it on
    the right edge); the flux that leaves the stamp is lost, not folded back."""
    img = torch.zeros(1, 1, 16, 16, dtype=torch.float64)
    img[0, 0, 8, 0] = 1.0
    k = moffat_kernels(torch.tensor([[1.3]], dtype=torch.float64), 0.262, 11)
    for method in ("fft", "direct"):
        out = convolve_linear(img, k, method)
        assert float(out[0, 0, :, -5:].abs().max()) < 1e-15
        assert 0.5 < float(out.sum()) < 1.0


def test_linear_convolution_errors():
    with pytest.raises(ValueError, match="share"):
        convolve_linear(torch.zeros(2, 3, 8, 8), torch.zeros(2, 2, 3, 3))
    with pytest.raises(ValueError, match="odd"):
        convolve_linear(torch.zeros(1, 1, 8, 8), torch.zeros(1, 1, 4, 4))
    with pytest.raises(ValueError, match="size"):
        moffat_kernels(torch.ones(1, 1), 0.262, 10)
    with pytest.raises(ValueError, match=r"\(B, C\)"):
        gaussian_kernels(torch.ones(3), 0.262)
