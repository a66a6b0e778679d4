"""Where a scroll ends, found by a few probes ahead: the ETA's far end when the logs stop before now.

The API does not say where the logs end. Extrapolating createdAt up to now is right while
logs keep coming; on an account whose logs stopped 40 days ago it counts 40 empty days of
pages. So once, when the ETA is first given, the scroll probes `start_element_id` ahead
(`find_end`): one request where the logs would reach now; if that page holds logs, they
do and the createdAt ETA stands. If it is past the end, bisection between the scroll's
position and there brackets the last id to within a page (or a page with a null cursor
names the last log), in at most MAX_PROBES requests. An ETA uses the bracket while it is
within END_PRECISION of the ids left (or a page); "unknown" else.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

from tap_kondado.times import created_at

if TYPE_CHECKING:
    from collections.abc import Callable

    from tap_kondado.transport.envelope import Page

MAX_PROBES = 16  # as the start_date seek: about twice log2 of the pages left, a few of a long sync
END_PRECISION = 0.1  # the bracket's half-width, as a share of the ids left: the end's stated error


@dataclass(frozen=True)
class ScrollEnd:
    """What the probes found: the last id is at or after `low` and before `high`.

    `high` None: the logs reach the far probe, so they run on to about now.
    """

    low: int
    high: int | None
    probes: int

    def ids_left(self, position: int, page_ids: float = 0.0) -> float | None:
        """Ids from `position` to the end; None when the bracket is wider than END_PRECISION of them and a page."""
        if self.high is None:
            return None
        if self.high - self.low <= 1:
            return max(0.0, self.low - position)
        middle = (self.low + self.high) / 2
        left = middle - position
        if left <= 0 or (self.high - self.low) / 2 > max(END_PRECISION * left, page_ids):
            return None
        return left


def find_end(
    probe: Callable[[int], Page],
    position: int,
    far: int,
    *,
    recent: float,
    page_ids: float,
    max_probes: int = MAX_PROBES,
) -> ScrollEnd:
    """Bracket the last id after `position` (an id the scroll has reached), probing first at `far`.

    `recent` (epoch seconds): a probed page whose logs reach it shows the logs run on to now;
    one that holds only older logs sends the next probe twice as far. `page_ids`: the ids a
    page covers lately. A bracket many times wider than the ids known to lie ahead is split
    at their geometric mean once two probes running were past the end: an end far short of
    `far` costs few probes more than one near it.
    """
    low, high, probes, short = position, None, 0, 0
    at = max(far, position + 1)
    while probes < max_probes:
        page = probe(at)
        probes += 1
        logs = [r for r in page.records if isinstance(r, dict) and isinstance(r.get("id"), int)]
        ids = [r["id"] for r in logs]
        cursor = page.next_start_element_id
        if ids and cursor is None:  # the last page: its last log ends the scroll
            return ScrollEnd(max(ids), max(ids) + 1, probes)
        if ids or cursor is not None:  # logs at or after `at`, or a cursor past logs this token may not see
            low, short = max([low, *ids, cursor or 0]), 0
            if high is None:
                newest = max((t for t in map(created_at, logs) if t is not None), default=None)
                if newest is not None and newest >= recent:
                    return ScrollEnd(low, None, probes)  # the logs reach where they would be by now
                at = position + 2 * (at - position)
                continue
        else:
            high, short = at, short + 1
        if (high - low) / 2 <= page_ids:  # the end to within a page: no ETA line will need more
            break
        ahead, beyond = max(low - position, page_ids, 1.0), high - position
        far_short = short >= 2 and beyond > 4 * ahead  # past the end twice running, the bracket still wide
        at = position + round(math.sqrt(ahead * beyond)) if far_short else (low + high) // 2
        if at <= low:
            break
    return ScrollEnd(low, high, probes)
