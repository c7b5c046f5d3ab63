"""RS features builder (spec section 8): per-galaxy structure-tensor fields of a Sigma_b map, a derived
scale length, radial profiles, a complexity scalar C_G and the population thresholds that bin it into the
threads factor xi.

Pipeline per galaxy (population = master cohort, points with r > 0 and Vobs > 0, at least 5 of them):

1. Sigma proxy on an ny x nx grid (arrays laid out (y, x)), cell-centred, lx = ly = 2 box_factor_xy R_d,
   dx = lx/nx [kpc]: ``w_disk e^{-R/R_d} + w_gas e^{-R/(1.7 R_d)} + w_bul B(R)`` with the weights of
   :func:`rs_ilg.proxies.component_weights` and ``B = 1/max((R^2 + a_b^2)^2, 1e-6)``, a_b = max(0.2 R_d,
   0.05 kpc), divided by its maximum (:func:`feature_sigma_proxy`).
2. Structure tensor of s = grad ln Sigma (periodic central differences, pixel units), each product smoothed
   by a periodic Gaussian of sigma_px = lambda_rec/dx; trace T in pixel^-2 (:func:`structure_fields`).
3. Fields: D_iso = 1/(1 + 0.5 T) (compat) or 1/(1 + T); ell_rec_kpc = lambda_rec/sqrt(1 + T) [kpc];
   anisotropy = sqrt(lambda_min/lambda_max) of the 2x2 tensor; zeta_local = clip(1 + C_lag (aniso - 1)).
4. Derived R_d' [kpc]: a straight-line fit of ln(ring-median Sigma) over rmax/12 < r < rmax/2
   (:func:`derive_rd`).
5. Profiles at ring radii: n_of_r = 1 + A (1 - e^{-(r/r0)^p}) with r0 = R_d' (compat) or 8 kpc, and the
   ring medians of zeta_local.
6. C_G = median of T over pixels with 0.5 R_d' <= R <= 2.5 R_d' (from the float32 trace in compat).
7. Thresholds: the 0.2/0.4/0.6/0.8 quantiles (linear) of C_G over the population; xi_bin = number of
   thresholds <= C_G; u = (bin + 1/2)/B; xi = 1 + C_lag sqrt(u).

In-memory results are :class:`GalaxyFeatures` and :class:`FeatureSet`; :func:`write_features` writes the
original's layout (``thresholds.json``; per galaxy ``fields.npz``, ``profiles.npz``, ``features.json``)
and :func:`load_features` reads one galaxy back (the consumer API of the 3D runner's features path,
spec 7.6): fields ``D_iso`` and ``ell_rec_kpc`` on the galaxy's (ny, nx) grid of spacing ``pixscale_kpc``,
centred on the galaxy, spanning +-box_factor_xy R_d; scalars ``g_ext_SI`` [m/s^2], ``xi``, ``xi_bin``.
"""

from .build import (
    FIELD_NAMES, PROFILE_NAMES, FeatureSet, FeaturesConfig, GalaxyFeatures, build_features, complexity, derive_rd,
    feature_sigma_proxy, features_from_map, g_ext_from_neighbours, population_thresholds, project_density,
    ring_medians, structure_fields, xi_from_value,
)  # fmt: skip
from .files import feature_dir_name, load_feature_table, load_features, read_features, write_features

__all__ = [
    "FIELD_NAMES",
    "PROFILE_NAMES",
    "FeaturesConfig",
    "GalaxyFeatures",
    "FeatureSet",
    "feature_sigma_proxy",
    "structure_fields",
    "ring_medians",
    "derive_rd",
    "complexity",
    "population_thresholds",
    "xi_from_value",
    "features_from_map",
    "project_density",
    "g_ext_from_neighbours",
    "build_features",
    "feature_dir_name",
    "write_features",
    "load_features",
    "read_features",
    "load_feature_table",
]
