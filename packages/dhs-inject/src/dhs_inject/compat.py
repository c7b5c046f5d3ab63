"""Re-render a stored row with lenstronomy: its keyword groups from the row's columns.

Every injected row stores its lens, shear, source and PSF under lenstronomy's keyword names
(``lens_theta_E`` → ``kwargs_lens[0]["theta_E"]``, …), so :func:`lenstronomy_kwargs` rebuilds the
``ImageModel`` inputs of one band. lenstronomy is not a dependency of this package (only of its tests)::

    from lenstronomy.Data.imaging_data import ImageData
    from lenstronomy.Data.psf import PSF
    from lenstronomy.ImSim.image_model import ImageModel
    from lenstronomy.LensModel.lens_model import LensModel
    from lenstronomy.LightModel.light_model import LightModel

    kw = lenstronomy_kwargs(row, "r")
    model = ImageModel(ImageData(**kw["kwargs_data"]), PSF(**kw["kwargs_psf"]),
                       LensModel(kw["kwargs_model"]["lens_model_list"]),
                       LightModel(kw["kwargs_model"]["source_light_model_list"]),
                       kwargs_numerics=kw["kwargs_numerics"])
    arc_r = model.image(kw["kwargs_lens"], kw["kwargs_source"])   # nMgy per pixel, (N, N)

Conventions (glens-sim's stamp grid, :mod:`glens_sim.grid`): pixel ``(N//2, N//2)`` at (0, 0), ``x`` along
columns, ``y`` along rows, ``transform_pix2angle = pixel_scale · I``. The source ``amp`` is lenstronomy's
(surface brightness at ``R_sersic``), from the row's total flux (:func:`glens_sim.light.lenstronomy_amp`).
The PSF is the same pixel kernel the kernel convolved with, applied after binning the oversampled image
(``supersampling_convolution=False``). The core mask and arc noise are not part of this re-rendering.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from dhs_inject.bands import BANDS

__all__ = ["lenstronomy_kwargs"]


def lenstronomy_kwargs(row: Mapping[str, Any], band: str, *, stamp_size: int | None = None,
                       pixel_scale: float = 0.262, psf_kernel_pix: int = 33) -> dict[str, Any]:
    """lenstronomy's keyword groups to re-render band ``band`` of a stored injected row's noiseless arc.

    Parameters
    ----------
    row : mapping (a store row: a ``pandas.Series``, a dict, …) with the lens/shear/source/PSF columns.
    band : ``"g"``, ``"r"`` or ``"z"``.
    stamp_size : stamp side ``N``; default the row's ``stamp`` shape (else 64).
    pixel_scale : arcsec per pixel.
    psf_kernel_pix : side of the PSF kernel (as :class:`dhs_inject.kernel.InjectConfig`).

    Returns
    -------
    dict with ``kwargs_model``, ``kwargs_data``, ``kwargs_psf``, ``kwargs_numerics``, ``kwargs_lens``,
    ``kwargs_source``.

    Raises
    ------
    ValueError : unknown band, a control row (``lens_model`` not ``SIE``), or a missing column (named).
    """
    from glens_sim.grid import origin_arcsec
    from glens_sim.light import lenstronomy_amp

    from dhs_inject.kernel import InjectConfig, psf_kernels

    if band not in BANDS:
        raise ValueError(f"band {band!r}: expected one of {BANDS}")
    try:
        if row["lens_model"] != "SIE":
            raise ValueError(f"row {row.get('task_id')}: lens_model {row['lens_model']!r} has no arc to re-render")
        if stamp_size is None:
            stamp = row.get("stamp")
            stamp_size = int(np.shape(stamp)[-1]) if stamp is not None else 64
        origin = origin_arcsec(stamp_size, pixel_scale)
        cfg = InjectConfig(stamp_size=stamp_size, pixel_scale=pixel_scale, oversampling=int(row["oversampling"]),
                           psf_model=str(row["psf_model"]).lower(), psf_kernel_pix=psf_kernel_pix,
                           **({"psf_beta": float(row["psf_beta"])} if str(row["psf_model"]) == "moffat" else {}))  # fmt: skip
        kernel = psf_kernels(np.array([[float(row[f"psf_fwhm_{band}"])]]), cfg)[0, 0].numpy()
        kwargs_lens = [
            {k: float(row[f"lens_{k}"]) for k in ("theta_E", "e1", "e2", "center_x", "center_y")},
            {"gamma1": float(row["shear_gamma1"]), "gamma2": float(row["shear_gamma2"]), "ra_0": 0.0, "dec_0": 0.0},
        ]
        source = {k: float(row[f"src_{k}"]) for k in ("R_sersic", "n_sersic", "e1", "e2", "center_x", "center_y")}
        amp = lenstronomy_amp(float(row[f"src_flux_{band}"]), source["R_sersic"], source["n_sersic"])
    except KeyError as exc:
        raise ValueError(f"row {row.get('task_id')}: missing column {exc.args[0]!r}") from exc
    return {
        "kwargs_model": {"lens_model_list": ["SIE", "SHEAR"], "source_light_model_list": ["SERSIC_ELLIPSE"]},
        "kwargs_data": {"image_data": np.zeros((stamp_size, stamp_size)), "ra_at_xy_0": origin,
                        "dec_at_xy_0": origin, "transform_pix2angle": np.eye(2) * pixel_scale},
        "kwargs_psf": {"psf_type": "PIXEL", "kernel_point_source": kernel, "point_source_supersampling_factor": 1},
        "kwargs_numerics": {"supersampling_factor": cfg.oversampling, "supersampling_convolution": False},
        "kwargs_lens": kwargs_lens,
        "kwargs_source": [{"amp": float(amp), **source}],
    }
