"""The one way glens-sim's configuration dataclasses validate themselves (pydantic).

Every settings class of the package is declared with :func:`config_dataclass`: a frozen
pydantic dataclass that refuses unknown field names (``extra="forbid"``), checks ``Literal``
choices and ``Field`` ranges when built, and raises :class:`pydantic.ValidationError` (a
``ValueError``) naming the class and the field. ``dataclasses.replace`` and
``dataclasses.fields`` work as on any dataclass, and ``replace`` validates again.
"""

from __future__ import annotations

from typing import TypeVar

from pydantic import ConfigDict
from pydantic.dataclasses import dataclass

__all__ = ["CONFIG", "config_dataclass"]

#: pydantic settings shared by every configuration dataclass of the package.
CONFIG = ConfigDict(extra="forbid", allow_inf_nan=False)

T = TypeVar("T")


def config_dataclass(cls: type[T]) -> type[T]:
    """Make ``cls`` a frozen, self-validating dataclass (unknown keywords are errors)."""
    return dataclass(frozen=True, config=CONFIG)(cls)
