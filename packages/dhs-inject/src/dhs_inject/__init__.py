"""dhs-inject: lensed arcs injected into DESI Legacy Surveys DR10 cutouts of LRGs, and the stamp store.

>>> import dhs_inject
>>> sorted(dhs_inject.BANDS)
['g', 'r', 'z']

The pipeline in five lines (the ``dhs-inject`` command does the same; the README has the details)::

    survey = dhs_inject.read_survey("data/survey")                        # bricks + bricks table + LRGs
    manifest = dhs_inject.build_manifest(survey.lrgs, survey.bricks, dhs_inject.ManifestConfig(tier="train"))
    dhs_inject.run_local(manifest, "store/", cfg=dhs_inject.InjectConfig(), bricks=survey.root)
    rows = dhs_inject.read_store("store/", split="train")                 # (C, H, W) float32 stamps, nMgy
    kw = dhs_inject.lenstronomy_kwargs(rows.iloc[0], "r")                 # lenstronomy re-renders the arc

Names are imported on first use (:pep:`562`), so ``import dhs_inject`` stays light (torch, healpy and
astropy load only with the functions that need them).
"""

from __future__ import annotations

import importlib
from importlib.metadata import version
from typing import Any

__version__ = version("dhs-inject")

#: public name → module that defines it.
_EXPORTS: dict[str, str] = {
    # conventions
    "BANDS": "bands", "PIXEL_SCALE_ARCSEC": "bands", "AB_ZERO_POINT": "bands", "mag_to_nmgy": "bands",
    "nmgy_to_mag": "bands",
    # survey I/O
    "Brick": "bricks", "read_brick": "bricks", "read_bricks_table": "bricks", "lookup_bricks": "bricks",
    "Cutouts": "cutouts", "cut_cutouts": "cutouts", "iter_brick_cutouts": "cutouts", "read_cutout_fits": "cutouts",
    "write_cutout_fits": "cutouts", "read_cutout_npz": "cutouts", "center_crop": "cutouts",
    "write_synthetic_survey": "synthetic", "Survey": "survey", "read_survey": "survey",
    "write_embedded_survey": "survey",
    # parent sample, splits, design
    "read_lrg_catalogue": "lrg", "select_lrgs": "lrg", "SplitConfig": "splits", "assign_splits": "splits",
    "grid_names": "grids", "build_grid": "grids", "PriorConfig": "priors", "draw_parameters": "priors",
    "ManifestConfig": "manifest", "build_manifest": "manifest", "task_ids": "sampling",
    "rejection_sample": "sampling", "arc_snr_rejection": "sampling",
    # rendering, store, runners
    "InjectConfig": "kernel", "KernelError": "kernel", "inject_batches": "kernel", "inject_frame": "kernel",
    "lenstronomy_kwargs": "compat", "StoreError": "store", "read_store": "store", "read_stamps": "store", "iter_store_batches": "store",
    "write_store": "store", "verify_store": "store", "to_npz_blobs": "store", "RunnerConfig": "runners",
    "InjectionJob": "runners", "run_local": "runners", "run_dask": "runners", "spark_udf": "runners",
    "summarize_store": "report", "preview_figure": "report",
}  # fmt: skip

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'dhs_inject' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"dhs_inject.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))
