"""Deterministic log records, with the API docs' two examples among them."""

from __future__ import annotations

import datetime
import math
import random
from typing import Any

PIPELINE_EXAMPLE: dict[str, Any] = {
    "id": 5181910,
    "client_id": 1,
    "pipeline_id": 702,
    "execution_time_seconds": "0.486988",
    "has_deltas": False,
    "pipeline_name": "Kondado - Blog - wp_options",
    "row_count": "256",
    "createdAt": "2020-09-17T00:03:48.108Z",
    "updatedAt": "2020-09-17T00:03:48.108Z",
    "initial_savepoint": None,
    "new_savepoint": None,
    "external_ip": "3.220.239.218",
    "is_billable": True,
    "raw_row_count": "123",
    "mb_estimate": "0.00231",
}
MODEL_EXAMPLE: dict[str, Any] = {
    "id": 5219430,
    "client_id": 1,
    "model_id": 162,
    "execution_time_seconds": 0.201923,
    "model_name": "Kondado - Leads",
    "row_count": 4915,
    "createdAt": "2020-09-17T00:05:00.892Z",
    "updatedAt": "2020-09-17T00:05:00.892Z",
}
EXAMPLES = {"pipeline_logs": PIPELINE_EXAMPLE, "model_logs": MODEL_EXAMPLE}
STREAMS = tuple(EXAMPLES)

_ACCOUNTS = {1: "Kondado", 2: "Acme", 3: "Padaria Pão Quente", 4: "Hidden Co"}
_SOURCES = [
    "Shopify - orders",
    "Google Ads - campaigns",
    "Pipedrive - deals",
    "RD Station - leads",
    "Facebook Ads - insights",
    "PostgreSQL - invoices",
    "Hubspot - contacts",
    "Omie - vendas",
]
_MODELS = ["Leads", "Funil de vendas", "Receita diária", "Churn", "CAC por canal"]
_IPS = ["3.220.239.218", "54.94.12.7", "18.231.5.90"]


def stamp(moment: datetime.datetime) -> str:
    """The API's createdAt form: UTC, milliseconds, a Z."""
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


class LogFactory:
    """Makes the records of one stream, one after the other, from a seeded generator."""

    def __init__(self, stream: str, seed: int, client_ids: list[int], start: datetime.datetime) -> None:
        """Records of `stream` for `client_ids`, the first created at `start`."""
        self.stream = stream
        self.rng = random.Random(f"{stream}:{seed}")
        self.client_ids = client_ids
        self.moment = start

    def make(
        self, record_id: int, client_id: int | None = None, moment: datetime.datetime | None = None
    ) -> dict[str, Any]:
        """One record with the given id."""
        rng = self.rng
        client = client_id if client_id is not None else rng.choice(self.client_ids)
        if moment is None:
            self.moment += datetime.timedelta(seconds=rng.randint(20, 900), milliseconds=rng.randint(0, 999))
            moment = self.moment
        created = stamp(moment)
        edited = rng.random() < 0.05
        updated = stamp(moment + datetime.timedelta(minutes=rng.randint(1, 90))) if edited else created
        if self.stream == "model_logs":
            number = rng.randrange(len(_MODELS))
            return {
                "id": record_id,
                "client_id": client,
                "model_id": 100 + client * 10 + number,
                "execution_time_seconds": round(rng.uniform(0.05, 120), 6),
                "model_name": f"{_ACCOUNTS.get(client, 'Conta')} - {_MODELS[number]}",
                "row_count": rng.randint(0, 250_000),
                "createdAt": created,
                "updatedAt": updated,
            }
        number = rng.randrange(len(_SOURCES))
        pipeline_id = 700 + client * 20 + number
        rows = rng.choice([0, rng.randint(1, 500), rng.randint(500, 80_000)])
        incremental = pipeline_id % 2 == 1
        savepoint = stamp(moment - datetime.timedelta(hours=rng.randint(1, 24)))
        return {
            "id": record_id,
            "client_id": client,
            "pipeline_id": pipeline_id,
            "execution_time_seconds": f"{rng.uniform(0.05, 900):.6f}",
            "has_deltas": rng.random() < 0.3,
            "pipeline_name": f"{_ACCOUNTS.get(client, 'Conta')} - {_SOURCES[number]}",
            "row_count": str(rows),
            "createdAt": created,
            "updatedAt": updated,
            "initial_savepoint": savepoint if incremental else None,
            "new_savepoint": created if incremental else None,
            "external_ip": rng.choice(_IPS),
            "is_billable": rows > 0 and rng.random() < 0.85,
            "raw_row_count": str(rows + rng.randint(0, rows // 10 + 1)),
            "mb_estimate": f"{rows * rng.uniform(0.00001, 0.0004):.5f}",
        }

    def next_id(self, last_id: int) -> int:
        """Ids ascend with gaps (other accounts' logs, deleted ones)."""
        return last_id + self.rng.choice([1, 1, 1, 2, 3, 7, 40])


def generate(
    stream: str, count: int, *, seed: int, client_ids: list[int], start: datetime.datetime
) -> tuple[list[dict[str, Any]], LogFactory]:
    """`count` records of `stream`, the docs' example first; and the factory to make more."""
    factory = LogFactory(stream, seed, client_ids, start)
    example = dict(EXAMPLES[stream])
    records = [example] if count > 0 else []
    last_id = example["id"]
    while len(records) < count:
        last_id = factory.next_id(last_id)
        records.append(factory.make(last_id))
    return records, factory


# --- realistic mode: sparse ids from one global sequence ----------------------------

DEFAULT_IDS_PER_DAY = 16_667  # ~1.5 million ids over 90 days, every customer's logs together
REALISTIC_FIRST_ID = 60_000_000  # the docs' 2020 examples were already past 5 million
JITTER_SECONDS = 5.0  # createdAt vs id: several servers, runs finishing together


class GlobalSequence:
    """Kondado's one id sequence, shared by every customer: the token sees a sparse subset.

    Ids advance with the clock at a rate that follows the day (busy afternoons, quiet
    nights) and drifts over weeks; the token's own logs come in phases of different
    activity. So gaps between two of its logs run from a few ids to tens of thousands,
    and ids per day of the token's logs change over time.
    """

    def __init__(self, rng: random.Random, ids_per_day: float, first_id: int = REALISTIC_FIRST_ID) -> None:
        """A sequence that hands out about `ids_per_day` ids a day, starting at `first_id`."""
        self.rng = rng
        self.per_second = ids_per_day / 86_400
        self.last_id = first_id
        self.drift = [rng.uniform(0.5, 2.0) for _ in range(64)]  # one factor per week

    def rate(self, moment: datetime.datetime) -> float:
        """Ids handed out per second around `moment` (all customers)."""
        hour = moment.hour + moment.minute / 60
        daily = 1 + 0.6 * math.sin((hour - 9) / 24 * 2 * math.pi)
        week = self.drift[(moment.toordinal() // 7) % len(self.drift)]
        return self.per_second * daily * week

    def next_id(self, seconds_since_last: float, moment: datetime.datetime) -> int:
        """The id of a log written `seconds_since_last` after the previous one of this token."""
        gap = seconds_since_last * self.rate(moment) * self.rng.lognormvariate(0, 0.4)
        self.last_id += max(1, round(gap))
        return self.last_id


def realistic_moments(rng: random.Random, count: int, days: float, now: datetime.datetime) -> list[datetime.datetime]:
    """`count` run times over the `days` before `now`, in phases of uneven activity."""
    weights: list[float] = []
    while len(weights) < count:
        phase_rate = math.exp(rng.uniform(math.log(0.25), math.log(4)))  # 16x between quiet and busy
        phase_length = rng.randint(max(1, count // 40), max(2, count // 6))
        weights.extend(rng.gammavariate(2, 0.5) / phase_rate for _ in range(phase_length))
    weights = weights[:count]
    span = days * 86_400 - 60  # the newest log a minute ago
    scale = span / (sum(weights) or 1)
    start = now - datetime.timedelta(days=days)
    moments, elapsed = [], 0.0
    for weight in weights:
        elapsed += weight * scale
        moments.append(start + datetime.timedelta(seconds=elapsed))
    return moments


def generate_realistic(
    stream: str,
    count: int,
    *,
    seed: int,
    client_ids: list[int],
    days: float,
    now: datetime.datetime,
    ids_per_day: float = DEFAULT_IDS_PER_DAY,
) -> tuple[list[dict[str, Any]], LogFactory, GlobalSequence]:
    """`count` logs of `stream` over the last `days`: sparse global ids, createdAt with jitter."""
    rng = random.Random(f"realistic:{stream}:{seed}")
    factory = LogFactory(stream, seed, client_ids, now)
    sequence = GlobalSequence(rng, ids_per_day)
    records: list[dict[str, Any]] = []
    previous = None
    for moment in realistic_moments(rng, count, days, now):
        seconds = (moment - previous).total_seconds() if previous else rng.uniform(0, 3_600)
        record_id = sequence.next_id(seconds, moment)
        jittered = moment + datetime.timedelta(seconds=rng.uniform(-JITTER_SECONDS, JITTER_SECONDS))
        records.append(factory.make(record_id, moment=min(jittered, now)))
        previous = moment
    factory.moment = previous or now
    return records, factory, sequence
