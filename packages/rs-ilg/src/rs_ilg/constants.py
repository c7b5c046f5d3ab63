"""Physical and model constants of the RS/ILG code (spec section 3).

Units: lengths in kpc unless a name says ``_M`` (metres); velocities in km/s; accelerations in m/s^2.
"""

from __future__ import annotations

import math

#: Golden ratio.
PHI: float = (1.0 + math.sqrt(5.0)) / 2.0
#: Lag constant C_lag = phi^-5 (= 0.0901699...).
C_LAG: float = PHI**-5
#: Kernel exponent alpha = (1 - 1/phi)/2 (= 0.190983...).
ALPHA: float = (1.0 - 1.0 / PHI) / 2.0
#: The rounded alpha literal used by the original ``pure_global_eval``.
ALPHA_PURE_GLOBAL: float = 0.191
#: MOND acceleration scale a0 [m/s^2].
A0_SI: float = 1.2e-10
#: One kpc in metres as used by the kernels.
KPC_M: float = 3.086e19
#: One kpc in metres as used by the original feature builder.
KPC_M_FEATURES: float = 3.085677581e19
#: One km/s in m/s.
KMS: float = 1.0e3
#: Newton's constant in kpc (km/s)^2 / Msun (master-table mass estimates).
G_KPC_KMS2_MSUN: float = 4.302e-6

#: Radial profile n_raw(r) = 1 + A [1 - exp(-(r/r0)^p)]: amplitude A.
N_PROFILE_A: float = 7.0
#: Radial profile scale r0 [kpc].
N_PROFILE_R0_KPC: float = 8.0
#: Radial profile exponent p.
N_PROFILE_P: float = 1.6

#: Number of bins B for the threads factor xi.
XI_BINS: int = 5

#: Error model constants (spec section 4): velocity floor [km/s], fractional floor, beam fraction,
#: turbulence amplitude and exponent, asymmetry fractions (dwarf / non-dwarf), dwarf threshold [km/s].
SIGMA0_KMS: float = 10.0
F_FRAC: float = 0.05
ALPHA_BEAM: float = 0.3
K_TURB: float = 0.07
P_TURB: float = 1.3
ASYM_DWARF: float = 0.10
ASYM_SPIRAL: float = 0.05
DWARF_VOBS_KMS: float = 80.0
#: Caps of error model B (never bind on SPARC).
ASYM_CAP_B: float = 0.15
TURB_CAP_B: float = 0.20

#: Inner-mask radius as a fraction of R_d, and the pure-global fallback beam [kpc].
MASK_RD_FRACTION: float = 0.3
MASK_FALLBACK_KPC: float = 0.6
#: Huber delta of the pure-global metrics.
HUBER_DELTA: float = 1.345
