"""The ``params:ablations`` tree as validated types, for the run-start check (``PARAMETERS``)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, create_model

from ..rs_ilg.params import GridParams
from .pipeline import VARIANTS


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class GridOverrides(_Strict):
    """Settings a study or a variant changes: only the 3D grid (:class:`rs_ilg.runners.GridRunConfig` fields)."""

    grid3d: GridParams = GridParams()


class Variant(_Strict):
    overrides: GridOverrides


#: ``params:ablations``: ``study`` (grid settings of the whole study) and one entry per registered variant.
AblationsParams = create_model(
    "AblationsParams", __base__=_Strict, study=(GridOverrides, ...), **{v: (Variant, ...) for v in VARIANTS}
)


#: Top-level parameter section -> the model that validates it (read by the run-start validation).
PARAMETERS: dict[str, type[BaseModel]] = {"ablations": AblationsParams}
