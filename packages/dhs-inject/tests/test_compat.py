"""lenstronomy's ImageModel re-renders stored rows from ``lenstronomy_kwargs`` (lenstronomy is test-only)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from dhs_inject.compat import lenstronomy_kwargs
from dhs_inject.kernel import InjectConfig, inject_frame

lenstronomy = pytest.importorskip("lenstronomy")
from lenstronomy.Data.imaging_data import ImageData  # noqa: E402
from lenstronomy.Data.psf import PSF  # noqa: E402
from lenstronomy.ImSim.image_model import ImageModel  # noqa: E402
from lenstronomy.LensModel.lens_model import LensModel  # noqa: E402
from lenstronomy.LightModel.light_model import LightModel  # noqa: E402


def rerender(row: pd.Series, band: str) -> np.ndarray:
    kw = lenstronomy_kwargs(row, band)
    model = ImageModel(ImageData(**kw["kwargs_data"]), PSF(**kw["kwargs_psf"]),
                       LensModel(kw["kwargs_model"]["lens_model_list"]),
                       LightModel(kw["kwargs_model"]["source_light_model_list"]),
                       kwargs_numerics=kw["kwargs_numerics"])  # fmt: skip
    return model.image(kw["kwargs_lens"], kw["kwargs_source"])


@pytest.mark.parametrize("psf_model", ["moffat", "gaussian"])
def test_lenstronomy_rerenders_stored_rows(inject_manifest: pd.DataFrame, inject_survey, psf_model: str) -> None:
    inj = inject_manifest[inject_manifest.label == 1].sample(4, random_state=1)
    rows = inject_frame(inj, cfg=InjectConfig(psf_model=psf_model), bricks=inject_survey.root)
    for _, row in rows.iterrows():
        arc = row["stamp"] - row["ctrl_stamp"]
        for k, band in enumerate("grz"):
            ref = rerender(row, band)
            assert np.abs(arc[k] - ref).max() <= 1e-3 * ref.max() + 2e-6, (row["task_id"], band)


def test_rows_of_every_grid_rerender(inject_survey) -> None:
    """A sample of manifest rows of every named grid (and the priors), injected then re-rendered in r."""
    from dhs_inject.grids import grid_names
    from dhs_inject.manifest import ManifestConfig, build_manifest

    for grid in [*grid_names(), "prior"]:
        cfg = ManifestConfig(tier="debug", grid=grid, lrgs_per_config=1, replicates=1, controls="paired",
                             splits={"guard_deg": 0.0})  # fmt: skip
        manifest = build_manifest(inject_survey.lrgs, inject_survey.bricks, cfg)
        sample = manifest[manifest.label == 1].sample(1, random_state=0)
        for _, row in inject_frame(sample, cfg=InjectConfig(), bricks=inject_survey.root).iterrows():
            ref = rerender(row, "r")
            arc = row["stamp"][1] - row["ctrl_stamp"][1]
            assert np.abs(arc - ref).max() <= 1e-3 * ref.max() + 2e-6, (grid, row["task_id"])


def test_controls_and_bad_band_are_refused(inject_manifest: pd.DataFrame) -> None:
    ctrl = inject_manifest[inject_manifest.label == 0].iloc[0]
    with pytest.raises(ValueError, match="CONTROL"):
        lenstronomy_kwargs(ctrl, "r")
    with pytest.raises(ValueError, match="band 'i'"):
        lenstronomy_kwargs(inject_manifest.iloc[0], "i")
