"""Where the linkage runs: DuckDB embedded (the default) or Spark in local mode.

Both keep their working files in a temporary folder removed on close: DuckDB its database and
what it spills to disk when a join outgrows its memory limit, Spark its checkpoints.
"""

from __future__ import annotations

import itertools
import logging
import os
import re
import shutil
import tempfile
from abc import ABC, abstractmethod
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pyarrow as pa
from splink.internals.database_api import DatabaseAPISubClass
from splink.internals.splink_dataframe import SplinkDataFrame

from jatigi.core.errors import JatigiError
from jatigi.core.i18n import _

ENGINES = ("duckdb", "spark")
_names = itertools.count(1)


class EngineUnavailable(JatigiError):
    """The chosen engine cannot start here; the message says what is missing."""


class EngineFailed(JatigiError):
    """The engine stopped during a run (out of memory, most often); the message says what to try."""


_MEMORY = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(g|gb|gib|m|mb|mib)\s*$", re.I)


def memory_megabytes(text: str) -> int:
    """`6GB`, `6g`, `512MB` -> megabytes; raises EngineUnavailable for anything else."""
    m = _MEMORY.match(text or "")
    if not m:
        raise EngineUnavailable(_("--memory: {value} is not an amount of memory such as 6GB or 512MB.", value=text))
    amount = float(m.group(1)) * (1024 if m.group(2).lower().startswith("g") else 1)
    if amount < 256:
        raise EngineUnavailable(_("--memory: at least 256MB, not {value}.", value=text))
    return int(amount)


def with_memory(options: EngineOptions, text: str | None) -> EngineOptions:
    """The options with a memory limit given once for either engine."""
    if not text:
        return options
    mb = memory_megabytes(text)
    return replace(options, memory_limit=f"{mb}MB", spark_driver_memory=f"{mb}m")


@dataclass(frozen=True)
class EngineOptions:
    engine: str = "duckdb"
    work_dir: Path | None = None  # where temporary files go (default: the system's temporary folder)
    memory_limit: str = "5GB"  # DuckDB's own limit; beyond it, it spills to disk
    threads: int | None = None  # default: every core
    spark_driver_memory: str = "4g"


class Backend(ABC):
    dialect: str
    db_api: DatabaseAPISubClass

    def __init__(self, options: EngineOptions) -> None:
        self.options = options
        self.work = Path(tempfile.mkdtemp(prefix="jatigi-dedup-", dir=options.work_dir))

    def register(self, table: pa.Table, name: str = "people") -> SplinkDataFrame:
        return self.db_api.register(table, dataset_display_name=f"{name}_{next(_names)}")

    @abstractmethod
    def fetch(self, sql: str) -> list[tuple[Any, ...]]:
        """Rows of a query over registered tables."""

    def close(self) -> None:
        shutil.rmtree(self.work, ignore_errors=True)


class DuckDBBackend(Backend):
    dialect = "duckdb"

    def __init__(self, options: EngineOptions) -> None:
        super().__init__(options)
        import duckdb
        from splink import DuckDBAPI

        spill = self.work / "spill"
        spill.mkdir()
        config: dict[str, Any] = {"memory_limit": options.memory_limit, "temp_directory": str(spill),
                                  "preserve_insertion_order": False}
        if options.threads:
            config["threads"] = options.threads
        self.con = duckdb.connect(str(self.work / "linkage.duckdb"), config=config)
        self.db_api = DuckDBAPI(connection=self.con)

    def fetch(self, sql: str) -> list[tuple[Any, ...]]:
        return self.con.execute(sql).fetchall()

    def close(self) -> None:
        try:
            self.con.close()
        finally:
            super().close()


class SparkBackend(Backend):
    dialect = "spark"

    def __init__(self, options: EngineOptions) -> None:
        try:
            from pyspark.sql import SparkSession
        except ImportError:
            raise EngineUnavailable(_("The Spark engine needs pyspark: install Jatigi with the spark extra "
                                      "(pip install 'jatigi[spark]') and Java 17.")) from None
        if not (shutil.which("java") or os.environ.get("JAVA_HOME")):
            raise EngineUnavailable(_("The Spark engine needs Java 17 (java was not found)."))
        super().__init__(options)
        from splink import SparkAPI
        from splink.backends.spark import similarity_jar_location

        os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
        threads = options.threads or os.cpu_count() or 2
        builder: Any = SparkSession.builder
        self.spark = (builder.master(f"local[{threads}]").appName("jatigi-dedup")
                      .config("spark.jars", similarity_jar_location())
                      .config("spark.driver.memory", options.spark_driver_memory)
                      .config("spark.sql.shuffle.partitions", str(max(2, threads * 2)))
                      .config("spark.ui.enabled", "false")
                      .config("spark.ui.showConsoleProgress", "false")
                      .config("spark.driver.host", "127.0.0.1")
                      .config("spark.driver.bindAddress", "127.0.0.1")
                      .config("spark.local.dir", str(self.work / "spark"))
                      .config("spark.sql.warehouse.dir", str(self.work / "warehouse"))
                      .getOrCreate())
        self.spark.sparkContext.setLogLevel("ERROR")
        self.spark.sparkContext.setCheckpointDir(str(self.work / "checkpoints"))
        logging.getLogger("py4j").setLevel(logging.ERROR)
        self.db_api = SparkAPI(spark_session=self.spark)

    def register(self, table: pa.Table, name: str = "people") -> SplinkDataFrame:
        # A table handed over from Python sits inside every query plan that uses it; with a dozen
        # blocking rules the plans outgrow the driver's memory. Written to Parquet and read back, it
        # is a file the plans only point to.
        path = self.work / "tables" / f"{name}_{next(_names)}"
        self.spark.createDataFrame(table).write.parquet(str(path))
        return self.db_api.register(self.spark.read.parquet(str(path)), dataset_display_name=path.name)

    def fetch(self, sql: str) -> list[tuple[Any, ...]]:
        return [tuple(row) for row in self.spark.sql(sql).collect()]

    def close(self) -> None:
        try:
            self.spark.stop()
        finally:
            super().close()


def open_backend(options: EngineOptions) -> Backend:
    if options.engine == "duckdb":
        return DuckDBBackend(options)
    if options.engine == "spark":
        return SparkBackend(options)
    raise EngineUnavailable(_("Unknown engine {engine}; accepted: {accepted}.", engine=options.engine,
                              accepted=", ".join(ENGINES)))
