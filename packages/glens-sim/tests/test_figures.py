"""Figures are built from the simulator and show what they claim."""

import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure

from glens_sim.config import LensSimConfig
from glens_sim.figures import debug_triplet_figure, horseshoe_figure, ring_figure, sweep_figure


def _disc(n=32):
    c = np.linspace(-1, 1, n)
    x, y = np.meshgrid(c, c)
    r = np.hypot(x, 2 * y) + 1e-9
    return np.stack([np.exp(-r / 0.2), (2 / np.pi) * np.arctan(r / 0.1) * x / r]).astype(np.float32)


def test_ring_and_horseshoe():
    fig = ring_figure(_disc(), title="t")
    assert isinstance(fig, Figure)
    img = fig.axes[1].images[0].get_array()
    # a compact centred source lensed by a centred SIS: bright ring at θ_E, dark centre
    n = img.shape[0]
    assert img[n // 2, n // 2] < 0.2 * img.max()
    fig = horseshoe_figure(_disc())
    vel = np.ma.filled(fig.axes[1].images[0].get_array().astype(float), np.nan)
    assert np.isnan(vel).any() and np.isfinite(vel).any()  # masked sky shown as NaN
    assert np.nanmax(vel) > 0.3 and np.nanmin(vel) < -0.3  # both sides of the rotation


def test_debug_triplet_columns_share_lens_and_difference_is_nonzero():
    cfg = LensSimConfig(theta_E_sub_factor=0.3, psf_sigma=1.0, flux_noise_sigma=0.05, vel_noise_sigma=0.02)
    fig = debug_triplet_figure(_disc(), cfg, seed=3)
    image_axes = [a for a in fig.axes if a.images]
    assert len(image_axes) == 8
    dflux = image_axes[3].images[0].get_array()
    assert np.abs(dflux).max() > 0.05
    # the subhalo marker is identical in every panel
    marks = {tuple(np.round(a.lines[-1].get_xydata()[0], 9)) for a in image_axes}
    assert len(marks) == 1


def test_sweep_figure():
    t = pd.DataFrame({"experiment": "subhalo_detection", "channel_mode": ["flux", "flux", "vel", "vel"],
                      "factor": [0.1, 0.3, 0.1, 0.3], "accuracy": [0.6, 1.0, 0.5, 0.55]})
    fig = sweep_figure(t)
    assert len(fig.axes[0].lines) == 3  # two curves + the chance line
    with pytest.raises(ValueError, match="psf"):
        sweep_figure(t, x="psf")


def test_figures_in_arcseconds_with_scaled_extent():
    """Issue 12: axes on the sky (arcsec) when the source's scale is known, readable ticks."""
    from glens_sim.sources import source_gallery_figure, source_preview_figure

    scale = 17.75  # a 72-spaxel MAPS at 0.5″: (72 - 1) * 0.5 / 2
    plain = ring_figure(_disc())
    fig = ring_figure(_disc(), arcsec_per_unit=scale)
    for ax in (a for a in fig.axes if a.images):
        assert ax.get_xlabel() == "x (arcsec)" and ax.get_ylabel() == "y (arcsec)"
        assert 2 <= len(ax.get_xticks()) <= 7
        assert min(t.get_fontsize() for t in ax.get_xticklabels()) >= 8
    lo, hi = plain.axes[1].images[0].get_extent()[:2]
    assert fig.axes[1].images[0].get_extent()[:2] == pytest.approx([scale * lo, scale * hi])
    assert "″" in fig.axes[1].get_title()
    assert plain.axes[0].get_xlabel() == "x (normalised units)"
    for f in (horseshoe_figure(_disc(), arcsec_per_unit=scale), debug_triplet_figure(_disc(), arcsec_per_unit=scale)):
        assert {a.get_xlabel() for a in f.axes if a.images} == {"x (arcsec)"}
    preview = source_preview_figure(_disc(), arcsec_per_unit=scale)
    assert preview.axes[0].get_xlabel() == "x (arcsec)" and len(preview.axes[0].get_xticks()) >= 2
    assert preview.axes[0].images[0].get_extent()[1] == pytest.approx(scale * (1 + 1 / 31))
    gallery = source_gallery_figure({"b": _disc(), "a": _disc()}, pd.DataFrame({"plateifu": ["a", "b"], "arcsec_per_unit": [scale, 2 * scale]}))
    image_axes = [a for a in gallery.axes if a.images]
    assert [a.get_title() for a in image_axes] == ["a: flux", "a: velocity", "b: flux", "b: velocity"]
    assert image_axes[2].images[0].get_extent()[1] == pytest.approx(2 * scale * (1 + 1 / 31))
    with pytest.raises(ValueError, match="arcsec_per_unit"):
        ring_figure(_disc(), arcsec_per_unit=-1.0)
