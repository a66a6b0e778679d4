"""The baseline the tap is measured against: a plain loop writing the same Singer messages.

python benchmarks/plain_loop.py API_URL KEY TOKEN > /dev/null

A SCHEMA per stream, a RECORD line per record and a STATE per page, serialized with the
serializer class the tap uses (singer_sdk.contrib.msgspec's serialize_jsonl, the one
behind MsgSpecWriter) and written once per page, as the tap's writer does. What it leaves
out is what the tap adds: settings, types, checks, retries, pacing, the SDK's loop.
"""

from __future__ import annotations

import datetime
import sys

import requests
from singer_sdk.contrib.msgspec import serialize_jsonl

from tap_kondado.streams import ModelLogsStream, PipelineLogsStream

STREAMS = {"model_logs": ModelLogsStream.schema, "pipeline_logs": PipelineLogsStream.schema}


def main(api_url: str, key: str, token: str) -> None:
    session = requests.Session()
    out = sys.stdout.buffer
    bookmarks: dict[str, dict] = {}
    for stream, schema in STREAMS.items():
        message = {"type": "SCHEMA", "stream": stream, "schema": schema, "key_properties": ["id"]}
        out.write(serialize_jsonl({**message, "bookmark_properties": ["id"]}))
        start, last_id = 0, -1
        while True:
            params = {"key": key, "token": token, "start_element_id": start}
            page = session.get(f"{api_url}/{stream}", params=params, timeout=60).json()["data"]
            extracted = datetime.datetime.now(datetime.timezone.utc)
            new = [record for record in page["data"] if record["id"] > last_id]  # the inclusive echo
            buffer = bytearray()
            for record in new:
                buffer += serialize_jsonl(
                    {"type": "RECORD", "stream": stream, "record": record, "time_extracted": extracted}
                )
            if new:
                last_id = new[-1]["id"]
                bookmarks[stream] = {"replication_key": "id", "replication_key_value": last_id}
            buffer += serialize_jsonl({"type": "STATE", "value": {"bookmarks": bookmarks}})
            out.write(buffer)
            out.flush()
            next_start = page["pagination"]["next_start_element_id"]
            if not new or next_start is None:
                break
            start = next_start


if __name__ == "__main__":
    main(*sys.argv[1:4])
