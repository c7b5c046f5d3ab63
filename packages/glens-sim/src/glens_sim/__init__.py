"""glens-sim: MaNGA IFU maps as lensed sources (MAPS I/O, quality, lensing, subhalo CNNs).

Lensing entry points (lenstronomy profile and keyword names; see :mod:`glens_sim.profiles`):

>>> import numpy as np, glens_sim
>>> ax, ay = glens_sim.deflection("SIE", np.array([0.3]), np.array([0.1]),
...                               theta_E=0.5, e1=0.1, e2=0.0)

Names are imported on first use (:pep:`562`): ``import glens_sim.maps_io`` reads MaNGA files
without importing torch, and ``glens_sim.simulate_batch`` imports the simulator only when asked.
"""

from __future__ import annotations

import importlib
from typing import Any

#: public name → module that defines it.
_EXPORTS: dict[str, str] = {
    "LensSimConfig": "config",
    "PROFILES": "profiles",
    "convergence": "profiles",
    "deflection": "profiles",
    "SimBatch": "simulate",
    "render_single": "simulate",
    "simulate_batch": "simulate",
    "MapsData": "maps_io",
    "MapsFormatError": "maps_io",
    "read_maps": "maps_io",
    "quality_row": "quality",
    "quality_table": "quality",
    "lensability_score": "lensability",
    "score_table": "lensability",
    "select_sources": "lensability",
    "rank_candidates": "ranking",
    "SourceTensor": "sources",
    "make_source_tensor": "sources",
    "save_source_preview": "sources",
    "make_synthetic_sample": "synthetic",
    "write_synthetic_maps": "synthetic",
    "ExperimentConfig": "experiments",
    "ExperimentRuns": "experiments",
    "run_kinematics_control": "experiments",
    "run_lensed_vs_unlensed": "experiments",
    "run_subhalo_detection": "experiments",
    "run_sweep": "experiments",
    "GlensCNN": "models",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'glens_sim' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"glens_sim.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))
