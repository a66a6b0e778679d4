"""The baseline the tap is measured against: requests + json, one JSON line per record.

python benchmarks/plain_loop.py API_URL KEY TOKEN > /dev/null
"""

from __future__ import annotations

import json
import sys

import requests

STREAMS = ("model_logs", "pipeline_logs")


def main(api_url: str, key: str, token: str) -> None:
    session = requests.Session()
    out = sys.stdout
    for stream in STREAMS:
        start, last_id = 0, -1
        while True:
            params = {"key": key, "token": token, "start_element_id": start}
            page = session.get(f"{api_url}/{stream}", params=params, timeout=60).json()["data"]
            new = [record for record in page["data"] if record["id"] > last_id]  # the inclusive echo
            for record in new:
                out.write(json.dumps(record) + "\n")
            next_start = page["pagination"]["next_start_element_id"]
            if not new or next_start is None:
                break
            start, last_id = next_start, new[-1]["id"]
    out.flush()


if __name__ == "__main__":
    main(*sys.argv[1:4])
