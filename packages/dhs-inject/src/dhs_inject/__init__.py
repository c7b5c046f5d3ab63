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

Names are imported on first use (:pep:`562`, through scientific-python's ``lazy_loader``), so
``import dhs_inject`` stays light (torch, healpy and astropy load only with the functions that need them).
"""

from importlib.metadata import version

import lazy_loader

__version__ = version("dhs-inject")

#: module → the public names it defines (imported when first used).
__getattr__, __dir__, __all__ = lazy_loader.attach(__name__, submod_attrs={
    "bands": ["BANDS", "PIXEL_SCALE_ARCSEC", "AB_ZERO_POINT", "mag_to_nmgy", "nmgy_to_mag"],
    "bricks": ["Brick", "read_brick", "read_bricks_table", "lookup_bricks"],
    "cutouts": [
        "Cutouts", "cut_cutouts", "iter_brick_cutouts", "read_cutout_fits", "write_cutout_fits",
        "read_cutout_npz", "center_crop"
    ],
    "synthetic": ["write_synthetic_survey"],
    "survey": ["Survey", "read_survey", "write_embedded_survey"],
    "lrg": ["read_lrg_catalogue", "select_lrgs"],
    "splits": ["SplitConfig", "assign_splits"],
    "grids": ["grid_names", "build_grid"],
    "priors": ["PriorConfig", "draw_parameters"],
    "manifest": ["ManifestConfig", "build_manifest"],
    "sampling": ["task_ids", "rejection_sample", "arc_snr_rejection"],
    "kernel": ["InjectConfig", "KernelError", "inject_batches", "inject_frame"],
    "compat": ["lenstronomy_kwargs"],
    "store": [
        "StoreError", "read_store", "read_stamps", "iter_store_batches", "write_store", "verify_store",
        "to_npz_blobs"
    ],
    "runners": ["RunnerConfig", "InjectionJob", "run_local", "run_dask", "spark_udf", "spark_inject", "spark_schema"],
    "report": ["summarize_store", "preview_figure"],
})
