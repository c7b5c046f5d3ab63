"""Flux-weighted velocity: symmetry of a lensed rotating disc, PSF weighting, masking."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy import ndimage

from glens_sim import LensSimConfig, simulate_batch
from glens_sim.raytrace import lens_flux_velocity

N = 64


def _edge_on_disc(n: int = N) -> torch.Tensor:
    """Edge-on rotating disc along x: flux even in x and y, velocity odd in x."""
    c = np.linspace(-1, 1, n)
    y, x = np.meshgrid(c, c, indexing="ij")
    flux = np.exp(-np.abs(x) / 0.3) * np.exp(-0.5 * (y / 0.06) ** 2)
    velocity = np.tanh(x / 0.1)
    return torch.from_numpy(np.stack([flux / flux.max(), velocity]))[None]


def _clean(**changes) -> LensSimConfig:
    return LensSimConfig(flux_noise_sigma=0.0, vel_noise_sigma=0.0, **changes)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize(("psf_sigma", "supersampling"), [(0.0, 1), (1.0, 3)])
def test_edge_on_disc_behind_centred_sis_gives_antisymmetric_velocity(dtype, psf_sigma,
                                                                      supersampling):
    cfg = _clean(psf_sigma=psf_sigma, supersampling=supersampling, dtype=dtype)
    out = simulate_batch(_edge_on_disc(), cfg, generator=torch.Generator().manual_seed(0))
    flux, velocity = out.images[0, 0].double(), out.images[0, 1].double()
    mask = out.vel_mask[0]
    assert out.params.loc[0, "theta_E"] == 0.5 and out.params.loc[0, "center_x"] == 0.0
    # mirror x -> -x is a column flip on the symmetric grid
    tol = 1e-5 if dtype == "float32" else 1e-10
    torch.testing.assert_close(flux, flux.flip(-1), rtol=0, atol=tol)
    assert torch.equal(mask, mask.flip(-1))
    torch.testing.assert_close(velocity, -velocity.flip(-1), rtol=0, atol=tol)
    # the map is a real horseshoe: both signs present, masked pixels carry the fill value
    assert velocity[mask].max() > 0.5 and velocity[mask].min() < -0.5
    assert 0.05 < mask.double().mean() < 0.9
    assert torch.all(velocity[~mask] == 0.0)
    # the Einstein ring is where the flux is: pixels at r ~ theta_E are bright
    c = torch.linspace(-1, 1, N, dtype=torch.float64)
    r = torch.hypot(c[None, :], c[:, None])
    assert flux[(r - 0.5).abs() < 0.03].mean() > 5 * flux[r > 0.9].mean()


def test_velocity_is_flux_weighted_after_the_psf():
    """v_obs = (F v) * P / (F * P), not the blurred velocity map."""
    source = _edge_on_disc()
    source[0, 1] = torch.where(source[0, 1] > 0, 1.0, -0.2)  # asymmetric velocity
    source[0, 0] *= torch.linspace(0.2, 1.0, N, dtype=torch.float64)[None, :]  # asymmetric flux
    cfg = _clean(psf_sigma=1.5, dtype="float64", flux_mask_threshold=0.02)
    out = simulate_batch(source, cfg, generator=torch.Generator().manual_seed(0))
    moments = lens_flux_velocity(source, [("SIS", {"theta_E": 0.5})])[0].numpy()
    blur = [ndimage.gaussian_filter(m, 1.5, mode="nearest", truncate=5.0) for m in moments]
    expected = blur[1] / blur[0]
    mask = out.vel_mask[0].numpy()
    np.testing.assert_array_equal(mask, blur[0] >= 0.02)
    np.testing.assert_allclose(out.images[0, 1].numpy()[mask], expected[mask], rtol=0,
                               atol=1e-6)
    # naive blurring of the velocity map (the original's recipe) differs on the ring
    naive = ndimage.gaussian_filter(moments[1] / np.where(moments[0] > 0, moments[0], 1), 1.5,
                                    mode="nearest", truncate=5.0)
    assert np.abs(naive[mask] - expected[mask]).max() > 0.05


def test_velocity_mask_survives_noise():
    cfg = LensSimConfig(flux_noise_sigma=0.1, vel_noise_sigma=0.2, supersampling=2)
    out = simulate_batch(_edge_on_disc().float().expand(4, 2, N, N), cfg,
                         generator=torch.Generator().manual_seed(1))
    velocity = out.images[:, 1]
    assert torch.all(velocity[~out.vel_mask] == 0.0)
    assert velocity[out.vel_mask].std() > 0.1  # the noise is there where velocity is valid
    assert float(out.images[:, 0].min()) >= 0.0 and float(out.images[:, 0].max()) <= 1.5
