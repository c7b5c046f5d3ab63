"""The ``params:ablation_studies`` tree as validated types (run-start check, :mod:`dark_halo_scope.validation`).

The variants are whatever keys the configuration holds (:func:`validate` builds the model from them), so a new
variant needs no code here.

Settings handed to a package type are checked against it: the mitigation study's ``data``/``train`` updates
against dhs-train's ``DataConfig``/``TrainConfig``, the glens study's ``experiment`` and regimes against glens-sim's
``ExperimentConfig``/``LensSimConfig``, preprocessing options against dhs-train's methods.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, create_model

from .common import NOT_VARIANTS


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


def _fields_of(kind: str):
    """A validator: the mapping's keys are fields of the package type ``kind`` and its values valid for them."""

    def check(value: dict[str, Any]) -> dict[str, Any]:
        if kind == "DataConfig":
            from dhs_train.data import DataConfig as tp
        elif kind == "TrainConfig":
            from dhs_train.training import TrainConfig as tp
        elif kind == "ExperimentConfig":
            from glens_sim.experiments import ExperimentConfig as tp
        else:
            from glens_sim.config import LensSimConfig as tp
        tp(**value)  # raises naming the field (pydantic ValidationError is a ValueError)
        return value

    return AfterValidator(check)


DataUpdate = Annotated[dict[str, Any], _fields_of("DataConfig")]
TrainUpdate = Annotated[dict[str, Any], _fields_of("TrainConfig")]


# --- mitigation -------------------------------------------------------------------------------------------------
class MitigationGates(_Strict):
    max_rows: int = Field(ge=4, description="store rows drawn per split for the gates")
    n_splits: int = Field(ge=2)
    seed: int
    core_masked_radius: float = Field(gt=0)


class MitigationStudy(_Strict):
    data: DataUpdate = {}
    train: TrainUpdate = {}
    gates: MitigationGates


class MitigationOverrides(_Strict):
    data: DataUpdate = {}
    train: TrainUpdate = {}


# --- preprocessing x pairing ------------------------------------------------------------------------------------
class PairingStudy(_Strict):
    split: Literal["train", "val", "test"]
    seeds: list[int] = Field(min_length=1)
    max_rows: int | None = Field(default=None, ge=4)
    n_splits: int = Field(ge=2)


class CoreDropout(_Strict):
    prob: float = Field(ge=0, le=1)
    radius: float = Field(gt=0)


class PairingOverrides(_Strict):
    pairing: Literal["paired", "unpaired"]
    preprocess: Literal["raw_robust", "residual_radial_profile"]
    preprocess_options: dict[str, Any] = {}
    core_dropout: CoreDropout | None = None


# --- glens channels ---------------------------------------------------------------------------------------------
class GlensStudy(_Strict):
    experiment: Annotated[dict[str, Any], _fields_of("ExperimentConfig")]
    channel_modes: list[Literal["flux", "vel", "both"]] = Field(min_length=1)


class GlensOverrides(_Strict):
    lens: Annotated[dict[str, Any], _fields_of("LensSimConfig")]


# --- centre-masked ----------------------------------------------------------------------------------------------
class CentreStudy(_Strict):
    split: Literal["train", "val", "test"]
    max_rows: int = Field(ge=1)
    seed: int


class CentreOverrides(_Strict):
    radius_pix: float = Field(gt=0)


#: Study -> (its ``study`` settings type, its variants' ``overrides`` type).
STUDY_TYPES: dict[str, tuple[type[BaseModel], type[BaseModel]]] = {
    "mitigation": (MitigationStudy, MitigationOverrides),
    "preproc_pairing": (PairingStudy, PairingOverrides),
    "glens_channels": (GlensStudy, GlensOverrides),
    "centre_masked": (CentreStudy, CentreOverrides),
}


def studies_model(variants: Mapping[str, Iterable[str]]) -> type[BaseModel]:
    """The ``params:ablation_studies`` model for the given variant names per study (``study -> names``).

    Each study section is ``study`` (its settings type) plus one ``{overrides: ...}`` entry per variant; unknown
    keys are refused at every level.
    """
    sections = {}
    for name, (study, overrides) in STUDY_TYPES.items():
        variant = create_model(f"{name}_variant", __base__=_Strict, overrides=(overrides, ...))
        fields = {v: (variant, ...) for v in variants.get(name, ())}
        sections[name] = (create_model(name, __base__=_Strict, study=(study, ...), **fields), ...)
    size = (str, Field(min_length=1, pattern=r"^[A-Za-z0-9_-]+$"))
    return create_model("AblationStudiesParams", __base__=_Strict, size=size, **sections)


def validate(value: Mapping[str, Any]) -> None:
    """Check ``params:ablation_studies``: every key of a study section but ``study`` is a variant (as when the
    pipeline is registered, :func:`.common.variant_names`) and is validated as one.

    Raises
    ------
    ValueError
        Listing every problem with its key below ``ablation_studies`` (e.g.
        ``mitigation.baseline.overrides.data: ... hard_negative_ratio ...``).
    """
    if not isinstance(value, Mapping):
        raise ValueError(f"expected a mapping, got {type(value).__name__}")
    names = {s: [k for k in sec if k not in NOT_VARIANTS] for s, sec in value.items() if isinstance(sec, Mapping)}
    try:
        studies_model(names)(**value)
    except ValidationError as exc:
        raise ValueError("; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())) from None
