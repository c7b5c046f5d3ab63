"""The `rs_ilg` pipeline: a status report until its issue lands."""

from kedro.pipeline import Pipeline

from ..status import status_pipeline


def create_pipeline(**kwargs) -> Pipeline:
    return status_pipeline("rs_ilg", "rs-ilg")
