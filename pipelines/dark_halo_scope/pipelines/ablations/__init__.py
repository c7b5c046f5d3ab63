"""The `ablations` pipeline; ``PARAMETERS`` validates its ``params:ablations`` tree (see :mod:`.params`)."""

from .params import PARAMETERS
from .pipeline import create_pipeline

__all__ = ["PARAMETERS", "create_pipeline"]
