"""The `dhs_inject` pipeline: a status report until the dhs-inject issue lands."""

from kedro.pipeline import Pipeline

from ..status import status_pipeline


def create_pipeline(**kwargs) -> Pipeline:
    return status_pipeline("dhs_inject", "dhs-inject")
