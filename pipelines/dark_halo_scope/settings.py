"""Kedro project settings."""

import os
from pathlib import Path

from kedro.config import OmegaConfigLoader

from .hooks import ProvenanceHook

HOOKS = (ProvenanceHook(),)


def shared_path(relative: str = "") -> str:
    """``${shared:data/sparc}`` in conf: the project's shared data folder (``$DHS_SHARED``, default ``../shared``)."""
    return str(Path(os.environ.get("DHS_SHARED", "../shared")) / relative)


CONFIG_LOADER_CLASS = OmegaConfigLoader
CONFIG_LOADER_ARGS = {
    "base_env": "base",
    "default_run_env": "local",
    "custom_resolvers": {"shared": shared_path},
}
