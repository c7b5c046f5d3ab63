"""The Spark runner: ``mapInPandas`` over a manifest on a ``local[1]`` session gives the local runner's rows, and
the folder Spark writes from them reads as a store."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from dhs_inject import runners, store
from dhs_inject.kernel import InjectConfig, KernelError

pytestmark = [
    pytest.mark.skipif(shutil.which("java") is None, reason="Spark needs a Java runtime and `java` is not on PATH"),
    # pyspark 4.3 warns on every pandas conversion that it "does not yet fully support pandas >= 3.0.0" (we have 3.x);
    # the rows are compared value by value below.
    pytest.mark.filterwarnings("ignore:PySpark does not yet fully support pandas:FutureWarning"),
]

pytest.importorskip("pyspark", reason="the optional extra dhs-inject[spark] is not installed")

CFG = InjectConfig(batch_rows=8)


@pytest.fixture(scope="module")
def spark():
    from pyspark.sql import SparkSession

    session = (
        SparkSession.builder.master("local[1]")
        .appName("dhs-inject-test")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.shuffle.partitions", "1")
        .config("spark.driver.memory", "512m")
        .config("spark.pyspark.python", sys.executable)  # the workers import dhs_inject from this environment
        .config("spark.sql.execution.arrow.maxRecordsPerBatch", "5")  # other batches than the local runner's parts
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()


def _comparable(frame: pd.DataFrame) -> pd.DataFrame:
    """Rows sorted by task id, missing values as None and every scalar as a Python object (Spark and parquet
    give different pandas dtypes to the same Arrow values: ``str`` vs ``object``, ``boolean`` vs ``object``)."""
    frame = frame.sort_values("task_id").reset_index(drop=True)
    return frame.astype(object).where(frame.notna(), None)


def test_spark_map_in_pandas_gives_the_local_runners_rows(spark, inject_manifest, inject_survey, tmp_path: Path) -> None:
    runners.run_local(inject_manifest, tmp_path / "local", cfg=CFG, bricks=inject_survey.root, workers=1, part_rows=4,
                      progress=False)  # fmt: skip
    reference = _comparable(store.read_store(tmp_path / "local"))
    rows = runners.spark_inject(spark.createDataFrame(inject_manifest), cfg=CFG, bricks=inject_survey.root).toPandas()
    assert {f"{c}_npz" for c in store.TENSOR_COLUMNS} <= set(rows.columns)
    for col in store.TENSOR_COLUMNS:
        rows[col] = [store.from_npz_blob(b, source=f"spark column {col}_npz") for b in rows.pop(f"{col}_npz")]
    rows = _comparable(rows)
    assert set(rows.columns) == set(reference.columns) and len(rows) == len(reference) == len(inject_manifest)
    for col in reference.columns:
        if col in store.TENSOR_COLUMNS:  # stamps bitwise (npz blobs are lossless float32)
            same = [(a is None and b is None) or (a is not None and b is not None and np.array_equal(a, b))
                    for a, b in zip(reference[col], rows[col], strict=True)]
            assert all(same), col
        else:
            pd.testing.assert_series_equal(reference[col], rows[col], check_names=False, obj=col)
    # the folder Spark writes, partitioned by split, is a store: read_store decodes its npz blob columns
    spark_rows = runners.spark_inject(spark.createDataFrame(inject_manifest), cfg=CFG, bricks=inject_survey.root)
    spark_rows.write.partitionBy("split").parquet(str(tmp_path / "spark"))
    written = _comparable(store.read_store(tmp_path / "spark"))
    assert len(store.part_paths(tmp_path / "spark")) >= 1 and len(written) == len(reference)
    for col in store.TENSOR_COLUMNS:
        assert all((a is None and b is None) or np.array_equal(a, b) for a, b in zip(reference[col], written[col],
                                                                                      strict=True)), col  # fmt: skip
    assert list(written["split"].astype(str)) == list(reference["split"].astype(str))


def test_spark_schema_needs_a_typed_sample(inject_manifest, inject_survey) -> None:
    """A sample whose only row is a control leaves the arc columns typed (NaN floats); an all-null column is named."""
    control = inject_manifest[inject_manifest.label == 0].head(1).copy()
    schema = runners.spark_schema(control, cfg=CFG, bricks=inject_survey.root)
    assert schema["stamp_npz"].dataType.typeName() == "binary"
    assert schema["ctrl_stamp_npz"].dataType.typeName() == "binary"  # null for a control: binary all the same
    assert schema["arc_snr"].dataType.typeName() == "double"
    control["note"] = None
    with pytest.raises(KernelError, match="column 'note' is null in every sample row"):
        runners.spark_schema(control, cfg=CFG, bricks=inject_survey.root)
