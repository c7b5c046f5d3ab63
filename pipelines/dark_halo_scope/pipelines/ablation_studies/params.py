"""The ``params:ablation_studies`` tree as validated types (run-start check, :mod:`dark_halo_scope.validation`).

Settings handed to a package type are checked against it: the mitigation study's ``data``/``train`` updates
against dhs-train's ``DataConfig``/``TrainConfig``, the glens study's ``experiment`` and regimes against glens-sim's
``ExperimentConfig``/``LensSimConfig``, preprocessing options against dhs-train's methods.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, create_model

from . import centre_masked, glens_channels, mitigation, preproc_pairing


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


def _study(name: str, study: type[BaseModel], overrides: type[BaseModel], variants: tuple[str, ...]):
    variant = create_model(f"{name}Variant", __base__=_Strict, overrides=(overrides, ...))
    return create_model(name, __base__=_Strict, study=(study, ...), **{v: (variant, ...) for v in variants})


#: ``params:ablation_studies``: the size label and one section per study (``study`` + one entry per variant).
AblationStudiesParams = create_model(
    "AblationStudiesParams", __base__=_Strict,
    size=(str, Field(min_length=1, pattern=r"^[A-Za-z0-9_-]+$")),
    mitigation=(_study("Mitigation", MitigationStudy, MitigationOverrides, mitigation.VARIANTS), ...),
    preproc_pairing=(_study("PreprocPairing", PairingStudy, PairingOverrides, preproc_pairing.VARIANTS), ...),
    glens_channels=(_study("GlensChannels", GlensStudy, GlensOverrides, glens_channels.VARIANTS), ...),
    centre_masked=(_study("CentreMasked", CentreStudy, CentreOverrides, centre_masked.VARIANTS), ...),
)  # fmt: skip
