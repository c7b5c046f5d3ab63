"""Named injection grids of the DHS manifests (spec §2.3).

A grid is the Cartesian product of its axes, in the order θ_E × src_dmag × src_reff × src_e × shear
(``config_id`` 0..n−1 in that product order, the last axis fastest):

| grid | theta_E (″) | src_dmag (mag) | src_reff (″) | src_e | shear | n |
|---|---|---|---|---|---|---|
| grid_small | 0.3, 0.6, 1.0 | 1, 2 | 0.08, 0.15 | 0, 0.3 | 0, 0.03 | 48 |
| grid_medium | 0.25, 0.35, 0.5, 0.8, 1.2 | 0.5, 1, 1.5, 2 | 0.05, 0.10, 0.20 | 0, 0.2, 0.4 | 0, 0.03 | 360 |
| grid_full | 8 from 0.2 to 1.6 | 7 from 0.25 to 2.5 | 6 from 0.04 to 0.25 | 0, 0.2, 0.4 | 0, 0.02, 0.04 | 3,024 |
| grid_sota | 0.5, 0.75, 1, 1.25, 1.5, 2, 2.5 | 0.5, 1, 1.5, 2 | 0.06, 0.10, 0.15, 0.20 | 0, 0.2, 0.4 | 0, 0.02, 0.04 | 1,008 |
| grid_sota_cli | 0.5 … 2.5 (7, as grid_sota) | 0.5, 1, 1.5 | 0.05, 0.10, 0.15 | 0, 0.3, 0.6 | 0, 0.03 | 378 |
| grid_small_v2 | 0.3, 0.5, 0.7, 1.0, 1.3, 1.6 | 0.5 … 3.0 (6) | 0.05, 0.10, 0.15, 0.25, 0.35 | prior | prior | 180 |

The spec records only the end points and counts of grid_full's axes and of grid_small_v2's dmag
axis; their interior values are evenly spaced here. ``src_e`` is the upstream ellipticity with
axis ratio ``q = (1 − e)/(1 + e)``; ``shear`` is |γ| (its angle is drawn per row). An axis a grid
does not fix is NaN ("prior"): the row draws it from the priors (:mod:`dhs_inject.priors`).
``src_dmag`` (source r mag = host r mag + dmag, the upstream brightness rule) is only used when a
manifest asks for ``source_mag="host_dmag"``; the default draws magnitudes from the prior.
"""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd

__all__ = ["GRID_AXES", "GRID_COLUMNS", "grid_names", "build_grid"]

GRID_COLUMNS: tuple[str, ...] = ("theta_E", "src_dmag", "src_reff", "src_e", "shear")

_NAN = (float("nan"),)
GRID_AXES: dict[str, dict[str, tuple[float, ...]]] = {
    "grid_small": {"theta_E": (0.3, 0.6, 1.0), "src_dmag": (1.0, 2.0), "src_reff": (0.08, 0.15),
                   "src_e": (0.0, 0.3), "shear": (0.0, 0.03)},
    "grid_medium": {"theta_E": (0.25, 0.35, 0.5, 0.8, 1.2), "src_dmag": (0.5, 1.0, 1.5, 2.0),
                    "src_reff": (0.05, 0.10, 0.20), "src_e": (0.0, 0.2, 0.4), "shear": (0.0, 0.03)},
    "grid_full": {"theta_E": tuple(np.round(np.linspace(0.2, 1.6, 8), 6)),
                  "src_dmag": tuple(np.round(np.linspace(0.25, 2.5, 7), 6)),
                  "src_reff": tuple(np.round(np.linspace(0.04, 0.25, 6), 6)),
                  "src_e": (0.0, 0.2, 0.4), "shear": (0.0, 0.02, 0.04)},
    "grid_sota": {"theta_E": (0.5, 0.75, 1.0, 1.25, 1.5, 2.0, 2.5), "src_dmag": (0.5, 1.0, 1.5, 2.0),
                  "src_reff": (0.06, 0.10, 0.15, 0.20), "src_e": (0.0, 0.2, 0.4), "shear": (0.0, 0.02, 0.04)},
    "grid_sota_cli": {"theta_E": (0.5, 0.75, 1.0, 1.25, 1.5, 2.0, 2.5), "src_dmag": (0.5, 1.0, 1.5),
                      "src_reff": (0.05, 0.10, 0.15), "src_e": (0.0, 0.3, 0.6), "shear": (0.0, 0.03)},
    "grid_small_v2": {"theta_E": (0.3, 0.5, 0.7, 1.0, 1.3, 1.6),
                      "src_dmag": tuple(np.round(np.linspace(0.5, 3.0, 6), 6)),
                      "src_reff": (0.05, 0.10, 0.15, 0.25, 0.35), "src_e": _NAN, "shear": _NAN},
}


def grid_names() -> list[str]:
    """The valid grid names."""
    return sorted(GRID_AXES)


def build_grid(name: str) -> pd.DataFrame:
    """The configurations of grid ``name``.

    Returns
    -------
    pandas.DataFrame
        Columns ``config_id`` (int32, 0..n−1), ``theta_E`` (″), ``src_dmag`` (mag), ``src_reff`` (″),
        ``src_e``, ``shear`` (float64; NaN = drawn from the prior).

    Raises
    ------
    ValueError
        If ``name`` is not a grid; the message lists the valid names.
    """
    if name not in GRID_AXES:
        raise ValueError(f"unknown grid {name!r}: valid grids are {grid_names()}")
    axes = GRID_AXES[name]
    rows = list(itertools.product(*(axes[c] for c in GRID_COLUMNS)))
    frame = pd.DataFrame(rows, columns=list(GRID_COLUMNS), dtype=np.float64)
    frame.insert(0, "config_id", np.arange(len(frame), dtype=np.int32))
    return frame
