"""Land the tap's output (Singer messages, JSON lines) in Spark tables, as target-postgres and target-duckdb do.

    tap-kondado --config config.json > messages.jsonl
    DBT_SPARK_DIR=spark .venv-spark/bin/python scripts/spark_land.py messages.jsonl

Each stream's RECORDs are appended to the Parquet table `<schema>.<stream>` (schema tap_kondado unless
--schema says otherwise) with lower-case column names and the types the SQL targets give: integer -> bigint,
number -> double, date-time -> timestamp (naive UTC), boolean -> boolean, anything else -> string. Appended, as an
append-only target keeps every version of a log: the package's staging models keep the latest updatedAt of each id.
Spark runs as dbt's Spark profile (transform/profiles/spark/profiles.yml) sets it up, on the same catalog.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import tempfile
from pathlib import Path

import yaml
from pyspark.sql import SparkSession
from pyspark.sql import types as T

PROFILE = Path(__file__).resolve().parent.parent / "transform" / "profiles" / "spark" / "profiles.yml"
ENV_VAR = re.compile(r"\{\{\s*env_var\('(\w+)'(?:,\s*'([^']*)')?\)\s*\}\}")


def spark_conf() -> dict[str, str]:
    """The profile's Spark settings, its env_var() calls read from the environment as dbt reads them."""
    output = yaml.safe_load(PROFILE.read_text())["meltano"]["outputs"]["kondado"]

    def render(value: str) -> str:
        return ENV_VAR.sub(lambda m: os.environ[m[1]] if m[2] is None else os.environ.get(m[1], m[2]), str(value))

    return {key: render(value) for key, value in output["server_side_parameters"].items()}


def spark_type(prop: dict) -> T.DataType:
    kinds = prop.get("type", "string")
    kinds = {kinds} if isinstance(kinds, str) else set(kinds)
    if "integer" in kinds:
        return T.LongType()
    if "number" in kinds:
        return T.DoubleType()
    if "boolean" in kinds:
        return T.BooleanType()
    if "string" in kinds and prop.get("format") == "date-time":
        return T.TimestampType()
    return T.StringType()


def split_streams(messages: Path, folder: Path) -> dict[str, tuple[T.StructType, Path]]:
    """Each stream's schema and a JSON-lines file of its records (lower-case keys), from the tap's messages."""
    streams: dict[str, tuple[T.StructType, Path]] = {}
    files = {}
    try:
        with messages.open() as lines:
            for line in lines:
                message = json.loads(line)
                stream = message.get("stream")
                if message["type"] == "SCHEMA" and stream not in streams:
                    properties = message["schema"]["properties"]
                    fields = [T.StructField(name.lower(), spark_type(prop)) for name, prop in properties.items()]
                    streams[stream] = (T.StructType(fields), folder / f"{stream}.jsonl")
                    files[stream] = streams[stream][1].open("w")
                elif message["type"] == "RECORD":
                    record = {key.lower(): value for key, value in message["record"].items()}
                    files[stream].write(json.dumps(record) + "\n")
    finally:
        for file in files.values():
            file.close()
    return streams


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("messages", type=Path, help="the tap's stdout, saved")
    parser.add_argument("--schema", default="tap_kondado", help="where the tables go (the var kondado_source_schema)")
    args = parser.parse_args()
    builder = SparkSession.builder.enableHiveSupport()
    for key, value in spark_conf().items():
        builder = builder.config(key, value)
    spark = builder.getOrCreate()
    spark.sql(f"create schema if not exists {args.schema}")
    with tempfile.TemporaryDirectory() as tmp:
        for stream, (schema, records) in split_streams(args.messages, Path(tmp)).items():
            # Spark's JSON reader parses the ISO 8601 times itself (their offset read, stored as UTC).
            frame = spark.read.schema(schema).json(str(records))
            frame.write.mode("append").format("parquet").saveAsTable(f"{args.schema}.{stream}")
            print(f"spark_land: {frame.count()} rows appended to {args.schema}.{stream}")
    spark.stop()


if __name__ == "__main__":
    main()
