"""dhs-gates: Gates that catch shortcuts, leakage and broken splits before anyone believes a number.

The library lands with its own issue; until then it only reserves its name in the workspace.
"""

from importlib.metadata import version

__version__ = version("dhs-gates")
