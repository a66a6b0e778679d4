"""Where a date starts in the id scroll: a few probes of `start_element_id`, no scan.

The API speaks only ids, but any integer is a valid `start_element_id`, and one request
there returns the next logs with their `createdAt`. A token's ids are a sparse, uneven
subset of one global sequence, and `createdAt` ascends with id nearly but not strictly.
`seek` searches ids for the first log created at or after a date, over a `probe`
callable (start -> Page), with no HTTP of its own.

What makes it safe whatever the layout: `createdAt` may run backwards by at most
`tolerance` (a log never has a higher id than one created more than `tolerance`
later). So a log created before `date - tolerance` is proven to come before every log
created at or after `date`; the seek only lands on a page that starts at or before such
a proven log (or at the lower bound itself), and the caller drops the landing scroll's
logs created before `date`. Landing early costs pages; landing late is impossible.

What makes it fast: regula falsi on `createdAt` between the closest proven-before log
and the closest log at or past the date, with the Illinois fix against a stuck end,
a bisection step when the bracket stops halving, and galloping while there is no upper
end yet (probes past the newest log answer an empty page, which has no time). Each
probe is aimed a few dozen logs before the date, so its page straddles it and becomes
the scroll's first page.
"""

from __future__ import annotations

import datetime
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

from tap_kondado.times import created_at

if TYPE_CHECKING:
    from collections.abc import Callable

    from tap_kondado.transport.envelope import Page

DEFAULT_TOLERANCE = datetime.timedelta(minutes=10)
MAX_PROBES = 16  # the budget per stream-partition
LEAD_LOGS = 20  # aim this many logs before the date: the probed page then straddles it
FINISH_LOGS = 40  # a bracket this narrow is read by one probe at its proven end
PAGE = 50


@dataclass(frozen=True)
class Landing:
    """Where the scroll starts: the probe position and its (already fetched) page."""

    start: int
    page: Page
    probes: int  # requests the seek made, the landing page's included


def seek(
    probe: Callable[[int], Page],
    start_date: datetime.datetime,
    *,
    lower: int = 0,
    tolerance: datetime.timedelta = DEFAULT_TOLERANCE,
    now: datetime.datetime | None = None,
    max_probes: int = MAX_PROBES,
) -> Landing:
    """Find a page that starts at or before the first log created at or after `start_date`.

    `lower` is the first position probed (the plain scroll's first request): the landing
    is never before it. The landing page is the scroll's first page; the caller must
    still drop its logs created before `start_date`.
    """
    clock = (now or datetime.datetime.now(datetime.timezone.utc)).timestamp()
    return _Search(probe, start_date.timestamp(), tolerance.total_seconds(), clock, max_probes).run(lower)


class _Search:
    """The knowledge gathered by the probes, and the next probe it calls for."""

    def __init__(self, probe: Callable[[int], Page], target: float, tolerance: float, now: float, budget: int) -> None:
        self.probe = probe
        self.target = target  # the date, epoch seconds
        self.cut = target - tolerance  # a log created before this is proven to precede the date
        self.now = now
        self.budget = budget
        self.pages: dict[int, Page] = {}  # probe position -> its page
        self.times: dict[int, float | None] = {}  # record id -> createdAt
        self.first_id: int | None = None
        self.requests = 0
        self.widths: list[float] = []
        self._last: tuple[int, float] = (0, math.inf)
        self.moved: str | None = None  # which end moved last: "low" or "high"
        self.stuck = {"low": 1.0, "high": 1.0}  # Illinois: weights of an end retained twice in a row
        self.step = 0.0  # the last galloping step

    # --- knowledge --------------------------------------------------------------

    def ask(self, position: int) -> None:
        self.requests += 1
        page = self.probe(position)
        self.pages[position] = page
        for record in page.records:
            record_id = record.get("id") if isinstance(record, dict) else None
            if isinstance(record_id, int) and not isinstance(record_id, bool):
                self.times[record_id] = created_at(record)
                if self.first_id is None or record_id < self.first_id:
                    self.first_id = record_id

    def proven_before(self) -> int | None:
        """The highest id created before `cut`: it precedes every log at or after the date."""
        before = [i for i, t in self.times.items() if t is not None and t < self.cut]
        return max(before) if before else None

    def upper(self, low: int) -> tuple[float, float | None]:
        """The nearest position above `low` past which probing tells nothing new, and its time.

        A log not proven before the date (or with no time) and a probe whose page starts
        with one (nothing lies between the two) bound the search; so does an empty page.
        """
        best: tuple[float, float | None] = (math.inf, None)
        for record_id, t in self.times.items():
            if record_id > low and record_id < best[0]:
                best = (record_id, t)
        for position, page in self.pages.items():
            if position >= low and position < best[0]:
                ids = _ids(page)
                best = (position, self.times[ids[0]]) if ids else (position, None)
        return best

    # --- the search ----------------------------------------------------------------

    def run(self, lower: int) -> Landing:
        self.ask(lower)
        while True:
            low = self.proven_before()
            if low is None:  # nothing proven before the date: the scroll starts at the bottom
                return self.land(lower)
            position = self.page_with(low)
            page = self.pages[position]
            if max(_ids(page)) > low or _is_last(position, page):
                return self.land(position)  # the page runs past the proven log, or nothing follows
            if low in self.pages:
                return self.land(low)  # the page right after the proven log
            if self.requests >= self.budget:
                return self.land(position)  # safe, if not close: the scroll reads on from there
            self.ask(self.next_position(low))

    def land(self, position: int) -> Landing:
        return Landing(position, self.pages[position], self.requests)

    def page_with(self, record_id: int) -> int:
        """A probed position whose page holds `record_id`, preferring pages reaching past it."""
        holding = [p for p, page in self.pages.items() if record_id in _ids(page)]
        return max(holding, key=lambda p: max(_ids(self.pages[p])))

    def ids_per_log(self, low: int) -> float:
        """Local density: ids between two of the token's logs near `low`."""
        ids = _ids(self.pages[self.page_with(low)])
        if len(ids) < 2:
            ids = sorted(self.times)
        return max(1.0, (ids[-1] - ids[0]) / (len(ids) - 1)) if len(ids) > 1 else 1.0

    def next_position(self, low: int) -> int:
        t_low = self.times[low]
        assert t_low is not None  # noqa: S101  (proven_before only returns logs with a time)
        high, t_high = self.upper(low)
        self.track(low, high)
        density = self.ids_per_log(low)
        lead = LEAD_LOGS * density
        if high - low <= FINISH_LOGS * density:
            return low  # one page from the proven log covers the rest
        if math.isinf(high):
            return self.gallop(low, t_low, density)
        if len(self.widths) >= 3 and self.widths[-1] > self.widths[-3] / 2:
            guess = (low + high) / 2  # interpolation is not paying: bisect
        elif t_high is None:
            # Past the newest log: no time to interpolate with. Extrapolate the id rate
            # seen so far to the date (or to now, for a date still to come).
            guess = low + (min(self.target, self.now) - t_low) * self.rate(low, t_low, density) - lead
            if guess >= high:  # the newest log is nearer than the rate says
                guess = (low + high) / 2
        else:
            guess = self.interpolate(low, t_low, high, t_high) - lead
        return int(min(max(guess, low), high - 1))

    def interpolate(self, low: int, t_low: float, high: float, t_high: float) -> float:
        """Regula falsi for the id created at `target`, Illinois-weighted."""
        below = (t_low - self.target) * self.stuck["low"]
        above = (t_high - self.target) * self.stuck["high"]
        if above <= 0:
            return high
        return low + (high - low) * (-below) / (above - below)

    def rate(self, low: int, t_low: float, density: float) -> float:
        """Ids per second up to `low`, measured from the first log seen."""
        first = self.first_id if self.first_id is not None else low
        t_first = self.times.get(first)
        if t_first is not None and t_low > t_first and low > first:
            return (low - first) / (t_low - t_first)
        return density / 3600.0  # no baseline yet: guess one log an hour

    def gallop(self, low: int, t_low: float, density: float) -> int:
        """No upper end yet: extrapolate the id rate, and at least double the last step."""
        guess = (min(self.target, self.now) - t_low) * self.rate(low, t_low, density) - LEAD_LOGS * density
        self.step = max(guess, 2 * self.step, PAGE * density)
        return int(low + self.step)

    def track(self, low: int, high: float) -> None:
        """Bracket widths (for the bisection guard) and the Illinois weights."""
        if self.widths and not math.isinf(high):
            last_low, last_high = self._last
            moved = "low" if low != last_low else "high" if high != last_high else None
            if moved is not None:
                kept = "high" if moved == "low" else "low"
                self.stuck[moved] = 1.0
                if moved == self.moved:
                    self.stuck[kept] /= 2
                self.moved = moved
        self._last = (low, high)
        self.widths.append(high - low)


def _ids(page: Page) -> list[int]:
    return [
        r["id"]
        for r in page.records
        if isinstance(r, dict) and isinstance(r.get("id"), int) and not isinstance(r.get("id"), bool)
    ]


def _is_last(position: int, page: Page) -> bool:
    """Nothing follows this page (the scroll's own end rule)."""
    nxt = page.next_start_element_id
    return nxt is None or max([nxt, *_ids(page)]) <= position
