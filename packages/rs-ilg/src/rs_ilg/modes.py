"""Run modes: ``compat`` reproduces the original RS/ILG numbers, ``corrected`` fixes its quirks.

Every quirk of the original code (spec sections 12 and 13) is one named field of :class:`ModeConfig`, so a
run can switch any single quirk on or off (``dataclasses.replace(ModeConfig.compat(), signed_v2=True)``).
Functions whose behaviour depends on the mode take a ``ModeConfig``; they read the named fields, never
``mode`` itself, which is only a label.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated, Any, Literal

from pydantic import Field

from .config import config_dataclass

ModeName = Literal["compat", "corrected", "custom"]


@config_dataclass
class ModeConfig:
    """Named switches for every original quirk. Build with :meth:`compat` or :meth:`corrected`.

    Master table and selection (spec 2.2, 2.3, 12.1-12.3):
      rd_source: ``"heuristic"`` R_d = r(argmax V_disk)/2.2 (compat) or ``"catalog"`` SPARC Rdisk.
      gas_fraction: ``"velocity_estimate"`` f_gas_true from <V^2> R_typ/G (compat) or ``"catalog_mhi"``
        (1.33 MHI against Upsilon_* L[3.6], both from the SPARC table).
      quality_gate: ``"missing_counts_as_q1"`` (compat: no Q is stored, so every galaxy passes) or
        ``"sparc_q"`` (real SPARC Q flags).
      q1_max_flag: largest SPARC Q accepted by the "Q1" cohort when ``quality_gate == "sparc_q"``.
    Baryons (spec 3, 12.4):
      signed_v2: False squares V_gas (sign lost, compat); True uses V|V| for every component.
    Error model and mask (spec 4, 12.7):
      dwarf_rule: ``"outer_vobs"`` median V_obs of the last 3 evaluated points < 80 km/s (model A, compat),
        or ``"sigma0_median"`` (Sigma_0 below the median of the master table; non-kinematic).
    1D model (spec 5, 12.5, 12.9):
      zeta_form: ``"per_script"`` (benchmark form <= 1 in the 1D benchmark, >= 1 in pure-global: compat),
        or one form everywhere: ``"thickness"`` (the benchmark's <= 1 form) or ``"off"``.
      n_normalisation: ``"per_script"`` (data-radii weight in the benchmark, analytic trimmed mean in
        pure-global: compat) or ``"analytic"`` everywhere.
      graph_tref: ``"per_galaxy"`` (graph kernel uses each galaxy's own median T_dyn, compat) or
        ``"population"`` (the same T_ref as the time/blend kernels).
      forward_zeta_off: False ignores ``zeta_off`` as the original does; True honours it.
      forward_graph_options: False ignores graph tau/sigma/normalisation (original); True honours them.
      mond_nu_variants: ``"all_simple"`` (the original's three nu choices are all the simple nu) or
        ``"distinct"`` (simple, standard and the Famaey-Binney nu differ as in the literature).
      select_kernel_by_chi2: pure-global picks w_t or w_g by the lower median chi2 (uses V_obs; compat).
      pure_global_alpha_literal: pure-global uses the rounded alpha = 0.191 (compat) instead of (1-1/phi)/2.
    2D/3D grids (spec 6, 7, 12.10-12.17):
      cg_stop: ``"per_step"`` (stop when one step cuts the squared residual by tol^2; compat) or
        ``"relative_initial"`` (stop when ||r|| <= tol ||r0||).
      cg_max_iter_2d, cg_max_iter_3d, cg_max_iter_y1_3d: CG caps (``None`` = run to convergence).
      cg_tol: CG tolerance.
      lrec_units_3d: ``"voxel"`` (l_rec in voxel units applied with kpc spacings, compat) or ``"physical"``.
      features_loader: ``"dead"`` (precomputed features given to the 3D runner are ignored, compat) or
        ``"working"``.
      gext_units: ``"si_added_to_ratio"`` (g_ext added as an SI number to g/g_max, compat: no effect) or
        ``"ratio_of_a0"`` (g_ext expressed in a0 and compared with a physical g).
      bulge_3d: ``"unnormalised_hernquist"`` (compat) or ``"unit_peak"``.
    Features and pilot (spec 8, 9, 12.5, 12.20, 12.21):
      features_diso_half_trace: D_iso = 1/(1 + 0.5 T) as the feature builder (compat) vs 1/(1 + T).
      features_n_r0: ``"derived_rd"`` (compat: n(r) with r0 = derived R_d) or ``"profile_r0"`` (8 kpc).
      features_trace_float32: C_G from the float32 trace (compat) or float64.
      features3d_projection_axis: array axis summed by features3d (0 in compat; 2 = z in kernel layout).
      pilot_tensor_on_log: False: structure tensor of the linear image (compat); True: of ln image.
      pilot_unusable_image: an input without a usable image: ``"placeholder"`` (compat: the original's
        built-in Gaussian, flagged), ``"skip"`` (recorded) or ``"error"``.
      trend_point_set: ``"features_rd"`` (compat: the trend rebuilds its points with the features' R_d') or
        ``"runner"`` (the runner's own points and errors), see :mod:`rs_ilg.trends`.
      honour_exclude_csv: False ignores the grid runners' ``--exclude-csv`` as the original does.
    Every field is validated when the config is built (unknown fields and bad values raise
    ``pydantic.ValidationError``, a ``ValueError``).
    """

    mode: ModeName = "compat"
    # master table and selection
    rd_source: Literal["heuristic", "catalog"] = "heuristic"
    gas_fraction: Literal["velocity_estimate", "catalog_mhi"] = "velocity_estimate"
    quality_gate: Literal["missing_counts_as_q1", "sparc_q"] = "missing_counts_as_q1"
    q1_max_flag: Annotated[int, Field(ge=0, le=3)] = 1
    # baryons
    signed_v2: bool = False
    # error model
    dwarf_rule: Literal["outer_vobs", "sigma0_median"] = "outer_vobs"
    # 1D model
    zeta_form: Literal["per_script", "thickness", "off"] = "per_script"
    n_normalisation: Literal["per_script", "analytic"] = "per_script"
    graph_tref: Literal["per_galaxy", "population"] = "per_galaxy"
    forward_zeta_off: bool = False
    forward_graph_options: bool = False
    mond_nu_variants: Literal["all_simple", "distinct"] = "all_simple"
    select_kernel_by_chi2: bool = True
    pure_global_alpha_literal: bool = True
    # 2D / 3D grids
    cg_stop: Literal["per_step", "relative_initial"] = "per_step"
    cg_max_iter_2d: Annotated[int, Field(ge=1)] | None = 400
    cg_max_iter_3d: Annotated[int, Field(ge=1)] | None = 400
    cg_max_iter_y1_3d: Annotated[int, Field(ge=1)] | None = 60
    cg_tol: Annotated[float, Field(gt=0, lt=1)] = 1e-6
    lrec_units_3d: Literal["voxel", "physical"] = "voxel"
    features_loader: Literal["dead", "working"] = "dead"
    gext_units: Literal["si_added_to_ratio", "ratio_of_a0"] = "si_added_to_ratio"
    bulge_3d: Literal["unnormalised_hernquist", "unit_peak"] = "unnormalised_hernquist"
    # features and pilot
    features_diso_half_trace: bool = True
    features_n_r0: Literal["derived_rd", "profile_r0"] = "derived_rd"
    features_trace_float32: bool = True
    features3d_projection_axis: Literal[0, 1, 2] = 0
    pilot_tensor_on_log: bool = False
    pilot_unusable_image: Literal["placeholder", "skip", "error"] = "placeholder"
    trend_point_set: Literal["features_rd", "runner"] = "features_rd"
    honour_exclude_csv: bool = False

    @classmethod
    def compat(cls, **overrides: Any) -> ModeConfig:
        """The original code's behaviour, quirks included (reproduces ``reference_results``)."""
        return cls(mode="compat", **overrides)

    @classmethod
    def corrected(cls, **overrides: Any) -> ModeConfig:
        """Every quirk of spec section 13 fixed: catalog R_d, Q, MHI; signed V^2; converged solves."""
        base = dict(
            mode="corrected",
            rd_source="catalog",
            gas_fraction="catalog_mhi",
            quality_gate="sparc_q",
            signed_v2=True,
            dwarf_rule="sigma0_median",
            zeta_form="thickness",
            n_normalisation="analytic",
            graph_tref="population",
            forward_zeta_off=True,
            forward_graph_options=True,
            mond_nu_variants="distinct",
            select_kernel_by_chi2=False,
            pure_global_alpha_literal=False,
            cg_stop="relative_initial",
            cg_max_iter_2d=None,
            cg_max_iter_3d=None,
            cg_max_iter_y1_3d=None,
            cg_tol=1e-8,
            lrec_units_3d="physical",
            features_loader="working",
            gext_units="ratio_of_a0",
            bulge_3d="unit_peak",
            features_diso_half_trace=False,
            features_n_r0="profile_r0",
            features_trace_float32=False,
            features3d_projection_axis=2,
            pilot_tensor_on_log=True,
            pilot_unusable_image="skip",
            trend_point_set="runner",
            honour_exclude_csv=True,
        )
        base.update(overrides)
        return cls(**base)

    @classmethod
    def from_name(cls, name: str, **overrides: Any) -> ModeConfig:
        """``"compat"`` or ``"corrected"`` (as on the command line), with optional field overrides."""
        if name == "compat":
            return cls.compat(**overrides)
        if name == "corrected":
            return cls.corrected(**overrides)
        raise ValueError(f"unknown mode {name!r}; expected 'compat' or 'corrected'")

    @property
    def needs_galaxy_table(self) -> bool:
        """Whether building the master table needs the SPARC galaxy table (catalog R_d, MHI or Q)."""
        return self.rd_source == "catalog" or self.gas_fraction == "catalog_mhi" or self.quality_gate == "sparc_q"

    def to_dict(self) -> dict[str, Any]:
        """Plain dict of every switch (for run parameters / MLflow)."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ModeConfig:
        """Inverse of :meth:`to_dict`; unknown keys raise ``ValueError`` (``pydantic.ValidationError``)."""
        return cls(**data)
