"""The concrete streams: each one's name, endpoint and schema; the behaviour is in their base classes.

`LogStream` (scroll.py) for the log endpoints, `StatusStream` (status.py) for the status
endpoints, both on `KondadoStream` (client.py). Requests are made in client.py, answers
read in envelope.py, records shaped in client.py (`KondadoStream.shape`).
"""

from __future__ import annotations

from typing import ClassVar

from singer_sdk import typing as th

from tap_kondado.logs.stream import LogStream
from tap_kondado.status.stream import StatusStream

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
    status_stream: ClassVar[str | None] = "pipeline_status"
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
    status_stream: ClassVar[str | None] = "model_status"
    schema = th.PropertiesList(
        *_COMMON_HEAD,
        th.Property("model_id", th.IntegerType, description="The model"),
        th.Property("model_name", th.StringType, description="Its name when the log was written"),
        th.Property("execution_time_seconds", th.NumberType, description="Run time, excluding set-up"),
        th.Property("row_count", th.IntegerType, description="Rows in the model's table"),
        *_COMMON_TAIL,
    ).to_dict()


_STATUS_COMMON = (th.Property("client_id", th.IntegerType, description="Account, from the id's newest log"),)
_STATUS_FLAGS = (
    th.Property("is_running", th.BooleanType, description="Running now"),
    th.Property("is_active", th.BooleanType, description="Enabled (active, not not_active)"),
)
_STATUS_TAIL = (
    th.Property("raw_msg", th.StringType, description="The error text when it has a problem; else null"),
    th.Property("observed_at", th.DateTimeType, required=True, description="When the tap received this status (UTC)"),
)


class PipelineStatusStream(StatusStream):
    """Current status of each pipeline the logs named lately: GET /pipelines/{pipeline_id}/status."""

    name = "pipeline_status"
    path = "/pipelines/{pipeline_id}/status"
    primary_keys: ClassVar[list[str]] = ["pipeline_id", "observed_at"]
    log_stream = "pipeline_logs"
    id_field = "pipeline_id"
    name_field = "pipeline_name"
    status_fields = ("status", "is_running", "is_active", "is_blocked", "raw_msg")
    schema = th.PropertiesList(
        th.Property("pipeline_id", th.IntegerType, required=True, description="The pipeline"),
        *_STATUS_COMMON,
        th.Property("pipeline_name", th.StringType, description="Its name in its newest log"),
        th.Property(
            "status",
            th.StringType,
            description="running, scheduled, active, not_active, building_tables, error_building_tables, "
            "too_many_consecutive_failed_builds, too_many_consecutive_failed_builds__blocked (others kept as sent)",
        ),
        *_STATUS_FLAGS,
        th.Property("is_blocked", th.BooleanType, description="Disabled automatically after failed builds"),
        *_STATUS_TAIL,
    ).to_dict()


class ModelStatusStream(StatusStream):
    """Current status of each model the logs named lately: GET /models/{model_id}/status."""

    name = "model_status"
    path = "/models/{model_id}/status"
    primary_keys: ClassVar[list[str]] = ["model_id", "observed_at"]
    log_stream = "model_logs"
    id_field = "model_id"
    name_field = "model_name"
    status_fields = ("status", "is_running", "is_active", "kubo_status_type", "raw_msg")
    schema = th.PropertiesList(
        th.Property("model_id", th.IntegerType, required=True, description="The model"),
        *_STATUS_COMMON,
        th.Property("model_name", th.StringType, description="Its name in its newest log"),
        th.Property(
            "status", th.StringType, description="running, scheduled, active, not_active (others kept as sent)"
        ),
        *_STATUS_FLAGS,
        th.Property(
            "kubo_status_type",
            th.StringType,
            description="not_published (draft), rebuilding (changed, not yet run), operational (stable)",
        ),
        *_STATUS_TAIL,
    ).to_dict()
