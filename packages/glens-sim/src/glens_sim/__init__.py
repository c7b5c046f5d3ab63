"""glens-sim: MaNGA IFU maps as lensed sources (MAPS I/O, quality, lensing, subhalo CNNs).

Lensing entry points (lenstronomy profile and keyword names; see :mod:`glens_sim.profiles`):

>>> import numpy as np, glens_sim
>>> ax, ay = glens_sim.deflection("SIE", np.array([0.3]), np.array([0.1]),
...                               theta_E=0.5, e1=0.1, e2=0.0)
"""

from glens_sim.config import LensSimConfig
from glens_sim.profiles import PROFILES, convergence, deflection
from glens_sim.simulate import SimBatch, render_single, simulate_batch
from glens_sim.maps_io import MapsData, MapsFormatError, read_maps  # helper E (maps)
from glens_sim.quality import quality_row, quality_table  # helper E (maps)
from glens_sim.lensability import lensability_score, score_table  # helper E (maps)
from glens_sim.ranking import rank_candidates  # helper E (maps)
from glens_sim.sources import SourceTensor, make_source_tensor, save_source_preview  # helper E (maps)
from glens_sim.synthetic import make_synthetic_sample, write_synthetic_maps  # helper E (maps)
from glens_sim.experiments import (  # helper F (experiments)
    ExperimentConfig, ExperimentRuns, run_kinematics_control, run_lensed_vs_unlensed,
    run_subhalo_detection, run_sweep,
)
from glens_sim.models import GlensCNN  # helper F (experiments)

__all__ = [
    "PROFILES",
    "LensSimConfig",
    "SimBatch",
    "convergence",
    "deflection",
    "render_single",
    "simulate_batch",
    # helper E (maps)
    "MapsData",
    "MapsFormatError",
    "SourceTensor",
    "lensability_score",
    "make_source_tensor",
    "make_synthetic_sample",
    "quality_row",
    "quality_table",
    "rank_candidates",
    "read_maps",
    "save_source_preview",
    "score_table",
    "write_synthetic_maps",
    # helper F (experiments)
    "ExperimentConfig",
    "ExperimentRuns",
    "GlensCNN",
    "run_kinematics_control",
    "run_lensed_vs_unlensed",
    "run_subhalo_detection",
    "run_sweep",
]
