"""The typed, JSON-serialisable result every gate returns.

A gate either measured its value (``status`` ``"passed"`` or ``"failed"``, decided by comparing ``value`` with
``threshold`` in ``direction``) or could not run (``status="not run"``, ``passed=None``, ``reason`` says why).
There is no third way: a gate never reports a verdict it did not measure (spec ``dhs.md`` §5.15).
"""

from __future__ import annotations

import math
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, field_validator

__all__ = ["Direction", "GateResult", "Status", "measured", "not_run"]

Status = Literal["passed", "failed", "not run"]
Direction = Literal["<", "<=", ">", ">=", "==", "in"]


def _plain(value: Any) -> Any:
    """Turn NumPy scalars/arrays and non-finite floats into JSON-safe Python values (NaN/Inf → None)."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, np.ndarray):
        return _plain(value.tolist())
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        value = float(value)
        return value if math.isfinite(value) else None
    return value


class GateResult(BaseModel):
    """One gate's verdict.

    Attributes
    ----------
    name : str
        The gate's function name (``core_lr_auc``, ...).
    value : float or None
        The measured statistic; ``None`` when not run.
    threshold : float, list of two floats, or None
        The pass threshold (``[low, high]`` for ``direction="in"``).
    direction : {"<", "<=", ">", ">=", "==", "in"}
        ``passed = value <direction> threshold``.
    passed : bool or None
        ``None`` exactly when ``status == "not run"``.
    status : {"passed", "failed", "not run"}
    reason : str
        Why it did not run, or a one-line reading of the verdict.
    definition : str
        The formula and its source (seed/spec section), so a reader of the JSON knows what was measured.
    details : dict
        Gate-specific numbers (per-bin AUCs, per-column p-values, offending rows, ...), JSON-safe.
    sample_sizes : dict of str to int
        Rows that entered the measurement (``n_pos``, ``n_neg``, ``n_groups``, ...).
    """

    model_config = ConfigDict(extra="forbid")

    name: str
    value: float | None = None
    threshold: float | list[float] | None = None
    direction: Direction
    passed: bool | None = None
    status: Status
    reason: str = ""
    definition: str = ""
    details: dict[str, Any] = Field(default_factory=dict)
    sample_sizes: dict[str, int] = Field(default_factory=dict)

    @field_validator("details", mode="before")
    @classmethod
    def _json_safe(cls, v: Any) -> Any:
        return _plain(v)

    @field_validator("sample_sizes", mode="before")
    @classmethod
    def _ints(cls, v: Any) -> Any:
        return {str(k): int(n) for k, n in dict(v).items()}


def _compare(value: float, threshold: float | list[float], direction: Direction) -> bool:
    if direction == "in":
        lo, hi = threshold  # type: ignore[misc]
        return bool(lo <= value <= hi)
    t = float(threshold)  # type: ignore[arg-type]
    return bool(
        {"<": value < t, "<=": value <= t, ">": value > t, ">=": value >= t, "==": value == t}[direction]
    )


def measured(
    name: str,
    value: float,
    threshold: float | list[float],
    direction: Direction,
    *,
    definition: str,
    details: dict[str, Any] | None = None,
    sample_sizes: dict[str, int] | None = None,
    passed: bool | None = None,
    reason: str = "",
) -> GateResult:
    """A gate that ran: the verdict is ``value <direction> threshold`` unless ``passed`` is given.

    ``passed`` is given only by gates whose verdict combines several measured checks (e.g. paired integrity's five
    checks); ``value`` is then the number of failed checks. A non-finite value can never pass.
    """
    value = float(value)
    verdict = passed if passed is not None else (math.isfinite(value) and _compare(value, threshold, direction))
    return GateResult(
        name=name,
        value=value if math.isfinite(value) else None,
        threshold=threshold,
        direction=direction,
        passed=bool(verdict),
        status="passed" if verdict else "failed",
        reason=reason,
        definition=definition,
        details=details or {},
        sample_sizes=sample_sizes or {},
    )


def not_run(
    name: str,
    reason: str,
    *,
    threshold: float | list[float] | None,
    direction: Direction,
    definition: str = "",
    sample_sizes: dict[str, int] | None = None,
    details: dict[str, Any] | None = None,
) -> GateResult:
    """A gate that could not be measured; ``reason`` names what is missing (column, model, class, rows)."""
    return GateResult(
        name=name,
        threshold=threshold,
        direction=direction,
        status="not run",
        passed=None,
        reason=reason,
        definition=definition,
        details=details or {},
        sample_sizes=sample_sizes or {},
    )
