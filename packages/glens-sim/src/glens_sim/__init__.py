"""glens-sim: MaNGA IFU maps as lensed sources (MAPS I/O, quality, lensing, subhalo CNNs).

Lensing entry points (lenstronomy profile and keyword names; see :mod:`glens_sim.profiles`):

>>> import numpy as np, glens_sim
>>> ax, ay = glens_sim.deflection("SIE", np.array([0.3]), np.array([0.1]),
...                               theta_E=0.5, e1=0.1, e2=0.0)
"""

from glens_sim.config import LensSimConfig
from glens_sim.profiles import PROFILES, convergence, deflection
from glens_sim.simulate import SimBatch, render_single, simulate_batch

__all__ = [
    "PROFILES",
    "LensSimConfig",
    "SimBatch",
    "convergence",
    "deflection",
    "render_single",
    "simulate_batch",
]
