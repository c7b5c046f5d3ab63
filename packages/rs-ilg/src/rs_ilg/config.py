"""The one way rs-ilg configuration types validate themselves: frozen pydantic dataclasses that refuse unknown
fields and check each field's type, allowed literals and range when built.

Use ``@config_dataclass`` on a class with annotated fields (``Literal[...]`` for choices,
``Annotated[int, Field(ge=1)]`` for ranges); building it with a bad value raises
:class:`pydantic.ValidationError` (a ``ValueError``) naming the field and the allowed values.
"""

from __future__ import annotations

from functools import partial

from pydantic import ConfigDict
from pydantic.dataclasses import dataclass

__all__ = ["CONFIG", "config_dataclass"]

#: Pydantic settings shared by every configuration type: unknown fields are errors.
CONFIG = ConfigDict(extra="forbid")

#: Decorator for configuration dataclasses (frozen, validated, unknown fields refused).
config_dataclass = partial(dataclass, frozen=True, config=CONFIG)
