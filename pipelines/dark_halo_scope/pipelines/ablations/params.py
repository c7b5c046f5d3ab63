"""The ``params:ablations`` tree as validated types, for the run-start check (``PARAMETERS``).

The variants are whatever keys the section holds besides ``study`` (as when the pipeline is registered), so a new
variant needs no code: :func:`validate` builds the model from them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError, create_model

from ..ablation_studies.common import NOT_VARIANTS
from ..rs_ilg.params import GridParams


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class GridOverrides(_Strict):
    """Settings a study or a variant changes: only the 3D grid (:class:`rs_ilg.runners.GridRunConfig` fields)."""

    grid3d: GridParams = GridParams()


class Variant(_Strict):
    overrides: GridOverrides


def ablations_model(variants: list[str]) -> type[BaseModel]:
    """``params:ablations``: ``study`` (grid settings of the whole study) and one :class:`Variant` per name."""
    return create_model("AblationsParams", __base__=_Strict, study=(GridOverrides, ...),
                        **{v: (Variant, ...) for v in variants})  # fmt: skip


def validate(value: Mapping[str, Any]) -> None:
    """Check ``params:ablations``; raises ``ValueError`` listing each problem with its key below ``ablations``."""
    if not isinstance(value, Mapping):
        raise ValueError(f"expected a mapping, got {type(value).__name__}")
    try:
        ablations_model([k for k in value if k not in NOT_VARIANTS])(**value)
    except ValidationError as exc:
        raise ValueError("; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())) from None


#: Top-level parameter section -> its validator (read by the run-start validation).
PARAMETERS: dict[str, Any] = {"ablations": validate}
