"""The `rs_ilg` pipeline; ``PARAMETERS`` validates its ``params:rs_ilg`` tree (see :mod:`.params`)."""

from .params import PARAMETERS
from .pipeline import create_pipeline

__all__ = ["PARAMETERS", "create_pipeline"]
