"""The concrete streams: each one's name, endpoint and schema; the behaviour is in their base classes.

`LogStream` (scroll.py) for the log endpoints. Requests are made in client.py, pages read
in envelope.py, records shaped in client.py (`KondadoStream.shape`).
"""

from __future__ import annotations

from typing import ClassVar

from singer_sdk import typing as th

from tap_kondado.scroll import LogStream

_COMMON_HEAD = (
    th.Property("id", th.IntegerType, required=True, description="Log record id (the scroll key)"),
    th.Property("client_id", th.IntegerType, description="Account the pipeline or model belongs to"),
)
_COMMON_TAIL = (
    th.Property("createdAt", th.DateTimeType, description="When the run finished (UTC)"),
    th.Property("updatedAt", th.DateTimeType, description="Last change to the log (UTC); usually = createdAt"),
)


class PipelineLogsStream(LogStream):
    """Runs of pipelines ("integrações"): GET /pipeline_logs."""

    name = "pipeline_logs"
    path = "/pipeline_logs"
    retention_days: ClassVar[int | None] = 90  # the API keeps 90 days of pipeline logs
    schema = th.PropertiesList(
        *_COMMON_HEAD,
        th.Property("pipeline_id", th.IntegerType, description="The pipeline"),
        th.Property("pipeline_name", th.StringType, description="Its name when the log was written"),
        th.Property("execution_time_seconds", th.NumberType, description="Run time, excluding set-up"),
        th.Property("row_count", th.IntegerType, description="Rows integrated"),
        th.Property("raw_row_count", th.IntegerType, description="Raw rows read"),
        th.Property("mb_estimate", th.NumberType, description="Estimated megabytes"),
        th.Property("has_deltas", th.BooleanType, description="Whether the run stored deltas"),
        th.Property("is_billable", th.BooleanType, description="Whether the rows counted against the plan"),
        th.Property("initial_savepoint", th.StringType, description="Incremental pipelines: where the read started"),
        th.Property("new_savepoint", th.StringType, description="Incremental pipelines: the new savepoint"),
        th.Property("external_ip", th.StringType, description="IP of the Kondado server that ran it"),
        *_COMMON_TAIL,
    ).to_dict()


class ModelLogsStream(LogStream):
    """Runs of models: GET /model_logs."""

    name = "model_logs"
    path = "/model_logs"
    schema = th.PropertiesList(
        *_COMMON_HEAD,
        th.Property("model_id", th.IntegerType, description="The model"),
        th.Property("model_name", th.StringType, description="Its name when the log was written"),
        th.Property("execution_time_seconds", th.NumberType, description="Run time, excluding set-up"),
        th.Property("row_count", th.IntegerType, description="Rows in the model's table"),
        *_COMMON_TAIL,
    ).to_dict()
