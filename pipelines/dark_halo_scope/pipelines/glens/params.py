"""The ``glens`` parameter tree (``params:glens``), one section per package configuration type.

Each section is validated by the glens-sim type that consumes it, so an unknown key, a wrong type or
an out-of-range value is refused at run start (``dark_halo_scope.validation``) and again when the node
builds its configuration. Defaults are the package's: a section left out of the YAML means the
package default, never a pipeline-chosen one.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from glens_sim.experiments import ExperimentConfig, SweepConfig
from glens_sim.lensability import LensabilityConfig, SourceSelection
from glens_sim.maps_io import ReadOptions
from glens_sim.quality import QualityConfig
from glens_sim.ranking import RankingConfig
from glens_sim.sources import SourceConfig

__all__ = ["GlensParameters"]


class GlensParameters(BaseModel):
    """``params:glens``: the settings of every ``glens`` node, by section."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    maps: ReadOptions = Field(default_factory=ReadOptions, description="how MAPS files are read (line, velocity, mask)")
    quality: QualityConfig = Field(default_factory=QualityConfig)
    lensability: LensabilityConfig = Field(default_factory=LensabilityConfig)
    selection: SourceSelection = Field(default_factory=SourceSelection, description="which tiers become sources")
    ranking: RankingConfig = Field(default_factory=RankingConfig)
    sources: SourceConfig = Field(default_factory=SourceConfig)
    experiment: ExperimentConfig = Field(default_factory=ExperimentConfig)
    sweep: SweepConfig = Field(default_factory=SweepConfig)
