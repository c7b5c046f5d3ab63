"""The ``glens`` pipeline and its parameter types.

``PARAMETERS`` names the type validating ``params:glens`` as a ``"module:attribute"`` string, imported only
when parameters are validated (importing it loads torch), so listing pipelines stays fast.
"""

from .pipeline import create_pipeline

PARAMETERS = {"glens": "dark_halo_scope.pipelines.glens.params:GlensParameters"}

__all__ = ["PARAMETERS", "create_pipeline"]
