"""The ``params:rs_ilg`` tree as validated types, for the run-start check (``PARAMETERS``).

Each leaf section is checked by the package's own configuration type (``ModeConfig``, ``Bench1DConfig``,
``GridRunConfig``, ``FeaturesConfig``), so unknown keys, wrong types and out-of-range values are refused
with the full key before any node runs.
"""

from __future__ import annotations

import dataclasses
import typing
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, create_model, model_validator

from rs_ilg.bench1d import Bench1DConfig
from rs_ilg.features import FeaturesConfig
from rs_ilg.modes import ModeConfig
from rs_ilg.runners import GridRunConfig


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


def _partial_model(model_name: str, config: type, *, exclude: tuple[str, ...] = (), **fields: Any) -> type[_Strict]:
    """A model with every field of the configuration dataclass ``config`` optional (unset = the package's
    choice), unknown keys refused, and the set fields checked by building ``config`` from them."""
    hints = typing.get_type_hints(config, include_extras=True)
    declared = {f.name: (hints[f.name] | None, None) for f in dataclasses.fields(config) if f.name not in exclude}

    def _build(self: BaseModel) -> BaseModel:
        config(**{k: getattr(self, k) for k in self.model_fields_set if k in declared})
        return self

    return create_model(model_name, __base__=_Strict, __validators__={"_build": model_validator(mode="after")(_build)},
                        **fields, **declared)  # fmt: skip


#: ``{name: compat|corrected, <ModeConfig field>: value, ...}``: a mode and its field overrides.
ModeParams = _partial_model("ModeParams", ModeConfig, exclude=("mode",), name=(Literal["compat", "corrected"], ...))
#: A grid section: any :class:`rs_ilg.runners.GridRunConfig` fields but ``ndim`` (the node sets it).
GridParams = _partial_model("GridParams", GridRunConfig, exclude=("ndim",))


class RunParams(_Strict):
    """``rs_ilg.run``: the settings both modes share."""

    cohort: Literal["Q1", "FULL"]
    limit: int = Field(ge=0)
    on_missing: Literal["raise", "skip"]
    kernels: list[Literal["time", "accel", "blend", "graph"]] = Field(min_length=1)
    bench1d: Bench1DConfig
    grid2d: GridParams
    grid3d: GridParams
    features: FeaturesConfig


class ModeSection(_Strict):
    mode: ModeParams


class RsIlgParams(_Strict):
    """The whole ``params:rs_ilg`` tree."""

    run: RunParams
    compat: ModeSection
    corrected: ModeSection


#: Top-level parameter section -> the model that validates it (read by the run-start validation).
PARAMETERS: dict[str, type[BaseModel]] = {"rs_ilg": RsIlgParams}


def validate(params: dict[str, Any]) -> RsIlgParams:
    """Validate a ``params:rs_ilg`` tree (raises ``pydantic.ValidationError`` naming the key)."""
    return RsIlgParams.model_validate(params)
