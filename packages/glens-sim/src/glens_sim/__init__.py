"""glens-sim: MaNGA IFU maps as lensed sources (MAPS I/O, quality, lensing, subhalo CNNs).

Lensing entry points (lenstronomy profile and keyword names; see :mod:`glens_sim.profiles`):

>>> import numpy as np, glens_sim
>>> ax, ay = glens_sim.deflection("SIE", np.array([0.3]), np.array([0.1]),
...                               theta_E=0.5, e1=0.1, e2=0.0)

Names are imported on first use (:pep:`562`, through scientific-python's ``lazy_loader``):
``import glens_sim.maps_io`` reads MaNGA files without importing torch, and ``glens_sim.simulate_batch`` imports the simulator only when asked.
"""

import lazy_loader

#: module → the public names it defines (imported when first used).
__getattr__, __dir__, __all__ = lazy_loader.attach(__name__, submod_attrs={
    "config": ["LensSimConfig"],
    "profiles": ["PROFILES", "convergence", "deflection"],
    "simulate": ["SimBatch", "render_single", "simulate_batch"],
    "maps_io": ["MapsData", "MapsFormatError", "read_maps"],
    "quality": ["quality_row", "quality_table"],
    "lensability": ["lensability_score", "score_table", "select_sources"],
    "ranking": ["rank_candidates"],
    "sources": ["SourceTensor", "make_source_tensor", "save_source_preview"],
    "synthetic": ["make_synthetic_sample", "write_synthetic_maps"],
    "experiments": [
        "ExperimentConfig", "ExperimentRuns", "run_kinematics_control", "run_lensed_vs_unlensed",
        "run_subhalo_detection", "run_sweep"
    ],
    "models": ["GlensCNN"],
})
