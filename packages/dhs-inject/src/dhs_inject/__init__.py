"""dhs-inject: Inject lensed arcs into DESI Legacy Surveys DR10 cutouts of luminous red galaxies (lens profiles and ray shooting from glens-sim).

The library lands with its own issue; until then it only reserves its name in the workspace.
"""

from importlib.metadata import version

__version__ = version("dhs-inject")
