"""rs-ilg: SPARC rotation curves under the information-limited-gravity (ILG) kernel.

Readers for SPARC rotmod files and the galaxy table, the master table, the shared error model, the 1D
ILG kernels with MOND and Newtonian baselines, 2D/3D grid kernels, RS features, the imaging pilot and
mock galaxies. Two modes (:class:`ModeConfig`): ``compat`` reproduces the original code's numbers,
``corrected`` fixes its quirks (spec section 13).
"""

from .bench1d import Bench1DConfig, BenchResult, baseline_table, run_bench1d, run_mond, run_pure_global
from .master import Galaxy, Master, MissingGalaxyError, build_master, master_to_frame, subset_names
from .report import summarise_runs, summary_stats
from .mock import make_mock_galaxies, write_mock_sparc
from .modes import ModeConfig
from .rotmod import Rotmod, RotmodFormatError, read_rotmod, read_rotmod_dir
from .table import TableFormatError, read_sparc_table

__all__ = [
    "Bench1DConfig", "BenchResult", "Galaxy", "Master", "MissingGalaxyError", "ModeConfig", "Rotmod",
    "RotmodFormatError", "TableFormatError", "baseline_table", "build_master",
    "make_mock_galaxies", "master_to_frame", "read_rotmod", "read_rotmod_dir", "read_sparc_table", "run_bench1d",
    "run_mond", "run_pure_global", "subset_names", "summarise_runs", "summary_stats", "write_mock_sparc",
]  # fmt: skip
