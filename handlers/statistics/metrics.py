"""What gridbot counts about its work, defined once (README "Statistics" repeats these formulas).

Every figure is a sum of daily counters (`Counters`), so a week, a month, a grid or a member is the sum of the
day rows that belong to it, and each rate is a ratio of two sums. A counter belongs to the local day (the
community's time zone) of the event that decides it:

Flows (per event day)
- new: orders reported that day. cancelled / closed: orders withdrawn / closed that day.
- accepted: acceptances, one per handling cycle (the report, and each reopening, starts a cycle; a second
  acceptance in a cycle after a transfer is the same cycle). resolved: resolutions (one per cycle).
- reopened (发回重办): reopenings after an unsatisfied rating. returned (退回): orders sent back to dispatch.
  transferred (转派): hand-overs to another person (a member claiming an order from the grid's group chat for
  themselves is not a hand-over). supervised (督办): orders staff put under supervision. escalated: the
  timer's escalations after a due time passed (to the grid leader, then staff).

Service levels, against each order's own stored due times (working hours and holidays as the SLA counted
them; a reopening restarts the clock, so the cycle judged is the order's last one)
- 按时签收率 = accept_on_time / accept_judged: of the last cycles accepted that day, those whose first
  acceptance came at or before `accept_due_at`.
- 按时办结率 = resolve_on_time / resolve_judged: of the last cycles resolved that day, those resolved at or
  before `resolve_due_at`.
- 超期签收 = accept_judged - accept_on_time; 超期办结 = resolve_judged - resolve_on_time (the overdue list shows
  these orders); orders still open past their due time are counted at report time (当前超期).
- time to accept: first acceptance - start of its cycle; time to resolve: resolution - start of its cycle
  (wall-clock minutes); median = nearest-rank 50th percentile (the lower middle value of an even count),
  p90 = nearest-rank 90th percentile; see handlers/statistics/histogram.py for the 1% rounding above 1,000 min.

Residents' judgement, on the day of the resolution it judges (a late rating changes that day)
- rated / satisfied / basically / unsatisfied: resolutions that day that were rated, and how. A rating is the
  resident's own or, for an order closed unrated, the answer staff recorded on a phone follow-up (回访).
- phone_rated (电话回访): those of the rated that came from a phone follow-up (a RATED event by a person).
- unrated (未评价): resolutions that day whose order closed without any rating (closed by the timer after
  `rating.close_after`, or by staff on the desk) and has none yet; a later phone follow-up moves it to rated.
  未评价 is never rated: it counts in neither part of 满意率.
- 满意率 = (satisfied + basically) / rated. 参评率 = rated / resolved.
- 发回重办率 = reopened / resolved (both per event day).
- 一次办结率 = first_time / closed: closed orders that were never returned, handed over or reopened.
- 重复投诉率 = repeat / new: new orders with an earlier order within 30 days from the same resident in the
  same category, or from the same compound in the same category.

Care and broadcasts (community-wide and per grid / compound where they apply)
- check-in coverage = checkins_answered / checkins_asked: the day's 平安问候 answered by the resident or
  confirmed by a member.
- broadcast reach = delivered / deliveries: deliveries of runs fired that day that reached the chat (sent),
  over all of them except those cancelled.

Who: the member dimension credits each event to the person holding the order when it happened (acceptance
and resolution to the one who did them, a rating and a reopening to the one whose resolution it judged);
the category, compound and grid dimensions use the order's own.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields
from datetime import timedelta

from handlers.statistics.histogram import Histogram, merge_into, percentile

REPEAT_WINDOW = timedelta(days=30)


@dataclass
class Counters:
    """One day's (or a sum of days') additive figures for one slice (all, a category, a grid, a member)."""

    new: int = 0
    accepted: int = 0
    resolved: int = 0
    closed: int = 0
    cancelled: int = 0
    reopened: int = 0
    returned: int = 0
    transferred: int = 0
    supervised: int = 0
    escalated: int = 0
    accept_judged: int = 0
    accept_on_time: int = 0
    resolve_judged: int = 0
    resolve_on_time: int = 0
    rated: int = 0
    satisfied: int = 0
    basically: int = 0
    unsatisfied: int = 0
    unrated: int = 0
    phone_rated: int = 0
    first_time: int = 0
    repeat: int = 0
    checkins_asked: int = 0
    checkins_answered: int = 0
    deliveries: int = 0
    delivered: int = 0
    accept_minutes: Histogram = field(default_factory=dict)
    resolve_minutes: Histogram = field(default_factory=dict)

    @classmethod
    def of(cls, counts: Mapping[str, int]) -> Counters:
        """Counters from stored counts (names of COUNT_FIELDS); histograms empty."""
        counters = cls()
        for name, value in counts.items():
            setattr(counters, name, int(value or 0))
        return counters

    @classmethod
    def of_row(cls, values: Sequence[int]) -> Counters:
        """Counters from stored counts in COUNT_FIELDS order, already ints (a database row: the fast path)."""
        counters = cls()
        counters.__dict__.update(zip(COUNT_FIELDS, values, strict=True))
        return counters

    def add(self, other: Counters) -> None:
        mine, theirs = self.__dict__, other.__dict__  # the hot loop of a roll-up: no getattr/setattr
        for name in COUNT_FIELDS:
            if theirs[name]:
                mine[name] += theirs[name]
        merge_into(self.accept_minutes, other.accept_minutes)
        merge_into(self.resolve_minutes, other.resolve_minutes)

    def is_empty(self) -> bool:
        return not any(getattr(self, name) for name in COUNT_FIELDS) and not (
            self.accept_minutes or self.resolve_minutes
        )

    # Derived figures: None when the denominator is zero ("—" in tables), never a made-up 0% or 100%.
    @property
    def accept_on_time_rate(self) -> float | None:
        return ratio(self.accept_on_time, self.accept_judged)

    @property
    def resolve_on_time_rate(self) -> float | None:
        return ratio(self.resolve_on_time, self.resolve_judged)

    @property
    def satisfaction_rate(self) -> float | None:
        return ratio(self.satisfied + self.basically, self.rated)

    @property
    def rating_rate(self) -> float | None:
        return ratio(self.rated, self.resolved)

    @property
    def first_time_rate(self) -> float | None:
        return ratio(self.first_time, self.closed)

    @property
    def reopen_rate(self) -> float | None:
        return ratio(self.reopened, self.resolved)

    @property
    def repeat_rate(self) -> float | None:
        return ratio(self.repeat, self.new)

    @property
    def checkin_coverage(self) -> float | None:
        return ratio(self.checkins_answered, self.checkins_asked)

    @property
    def broadcast_reach(self) -> float | None:
        return ratio(self.delivered, self.deliveries)

    @property
    def late_accepts(self) -> int:
        return self.accept_judged - self.accept_on_time

    @property
    def late_resolves(self) -> int:
        return self.resolve_judged - self.resolve_on_time

    @property
    def accept_median(self) -> int | None:
        return percentile(self.accept_minutes, 0.5)

    @property
    def accept_p90(self) -> int | None:
        return percentile(self.accept_minutes, 0.9)

    @property
    def resolve_median(self) -> int | None:
        return percentile(self.resolve_minutes, 0.5)

    @property
    def resolve_p90(self) -> int | None:
        return percentile(self.resolve_minutes, 0.9)


COUNT_FIELDS: tuple[str, ...] = tuple(f.name for f in fields(Counters) if f.type in ("int", int))


def ratio(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def total(counters: list[Counters]) -> Counters:
    summed = Counters()
    for item in counters:
        summed.add(item)
    return summed
