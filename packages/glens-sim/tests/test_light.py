"""Elliptical Sérsic (amp = total flux) against lenstronomy's SERSIC_ELLIPSE."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from glens_sim.light import lenstronomy_amp, sersic_ellipse

pytest.importorskip("lenstronomy")
from lenstronomy.LightModel.light_model import LightModel  # noqa: E402
from lenstronomy.LightModel.Profiles.sersic import SersicElliptic  # noqa: E402

CASES = [dict(R_sersic=0.3, n_sersic=1.0, e1=0.2, e2=-0.1, center_x=0.05, center_y=-0.1),
         dict(R_sersic=0.15, n_sersic=0.5, e1=0.0, e2=0.0),
         dict(R_sersic=0.5, n_sersic=2.0, e1=-0.3, e2=0.25, center_x=-0.2),
         dict(R_sersic=1.2, n_sersic=4.0, e1=0.1, e2=0.4, center_y=0.3)]


@pytest.mark.parametrize("kwargs", CASES, ids=[str(i) for i in range(len(CASES))])
def test_matches_lenstronomy_with_converted_amp(kwargs):
    rng = np.random.default_rng(3)
    r = 10 ** rng.uniform(-3, 0.7, 3000)
    phi = rng.uniform(0, 2 * np.pi, r.size)
    x, y = r * np.cos(phi), r * np.sin(phi)
    flux = 7.5  # nMgy
    ref = LightModel(["SERSIC_ELLIPSE"]).surface_brightness(
        x, y, [dict(kwargs, amp=lenstronomy_amp(flux, kwargs["R_sersic"], kwargs["n_sersic"]))])
    ours = sersic_ellipse(torch.from_numpy(x), torch.from_numpy(y), flux, **kwargs)
    assert ours.dtype == torch.float64
    np.testing.assert_allclose(ours.numpy(), ref, rtol=1e-10, atol=1e-12 * ref.max())
    ours32 = sersic_ellipse(torch.from_numpy(x).float(), torch.from_numpy(y).float(), flux,
                            **kwargs)
    np.testing.assert_allclose(ours32.numpy(), ref, rtol=2e-5, atol=1e-6 * ref.max())


@pytest.mark.parametrize("kwargs", CASES[:3], ids=["0", "1", "2"])
def test_amp_is_the_total_flux(kwargs):
    """The analytic total flux of lenstronomy's profile with the converted amp is amp, and a
    fine grid sum recovers it (the profile is fully inside the grid)."""
    flux = 3.0
    amp = lenstronomy_amp(flux, kwargs["R_sersic"], kwargs["n_sersic"])
    total = SersicElliptic().total_flux(amp, kwargs["R_sersic"], kwargs["n_sersic"],
                                        kwargs["e1"], kwargs["e2"])
    assert total == pytest.approx(flux, rel=1e-12)
    if kwargs["n_sersic"] <= 1:  # compact enough for a small grid to hold all the flux
        step = 0.005
        c = torch.arange(-4.0, 4.0, step, dtype=torch.float64) + step / 2
        img = sersic_ellipse(c[None, :], c[:, None], flux, **kwargs)
        assert float(img.sum()) * step**2 == pytest.approx(flux, rel=1e-3)


def test_per_sample_parameters_and_conversion_types():
    x = torch.linspace(-1, 1, 9)[None, :]
    y = torch.linspace(-1, 1, 7)[:, None]
    R = torch.tensor([0.2, 0.4])
    img = sersic_ellipse(x, y, torch.tensor([1.0, 2.0]), R, torch.tensor([1.0, 1.5]),
                         torch.zeros(2), torch.zeros(2))
    assert img.shape == (2, 7, 9)
    one = sersic_ellipse(x, y, 2.0, 0.4, 1.5, 0.0, 0.0)
    np.testing.assert_allclose(img[1].numpy(), one.numpy(), rtol=1e-6)
    assert isinstance(lenstronomy_amp(1.0, 0.3, 1.0), float)
    assert isinstance(lenstronomy_amp(np.ones(3), 0.3, 1.0), np.ndarray)
    assert isinstance(lenstronomy_amp(torch.ones(3), 0.3, 1.0), torch.Tensor)
