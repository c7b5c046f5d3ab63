"""Kedro project settings.

Importing this module (Kedro does it when the project is configured, before any catalog exists) makes every
local fsspec write atomic (:mod:`dark_halo_scope.atomic`). Parameters merge *softly* across environments, so a
one-key override in ``conf/local/parameters.yml`` changes that key only; ``${globals:data_root}`` (per environment,
``conf/<env>/globals.yml``) prefixes every catalog path.
"""

import os
from pathlib import Path

from kedro.config import OmegaConfigLoader

from . import atomic
from .hooks import ProvenanceHook, RunRecordHook

atomic.install()

HOOKS = (RunRecordHook(), ProvenanceHook())


def shared_path(relative: str = "") -> str:
    """``${shared:data/sparc}`` in conf: the project's shared data folder (``$DHS_SHARED``, default ``../shared``)."""
    return str(Path(os.environ.get("DHS_SHARED", "../shared")) / relative)


CONFIG_LOADER_CLASS = OmegaConfigLoader
CONFIG_LOADER_ARGS = {
    "base_env": "base",
    "default_run_env": "local",
    "custom_resolvers": {"shared": shared_path},
    "merge_strategy": {"parameters": "soft", "globals": "soft"},
}
