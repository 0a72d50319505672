"""Did the fix bend the trend? Pure functions of a cluster's tickets per day and the fix's date.

`fix_effect` compares the weekly ticket rate before the fix (the 28 days before it, or since the
cluster's first report if it is younger) with the rate since (every complete day after the fix day up to
yesterday: today's counts are still coming in). Ticket counts are treated as Poisson; two Poisson rates
are compared exactly by conditioning on the total: given n = before + after tickets, the tickets after
follow Binomial(n, t_after / (t_before + t_after)) when the rate did not change (one-sided binomial
tests, "less" for a fall, "greater" for a rise).

`regressed` is the alert rule for a resolved fix: reports coming back after a grace week.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Literal

from scipy.stats import binomtest

WINDOW_DAYS = 28  # the rate before the fix: at most this many days before it
MIN_DAYS_AFTER = 7  # fewer complete days after the fix: too early to say
ALPHA = 0.05  # one test per linked fix, asked for by a person: the usual level
GRACE_DAYS = 7  # after resolution, reports may still come while the fix rolls out
REGRESSION_WINDOW_DAYS = 7
REGRESSION_MIN_TICKETS = 3

Verdict = Literal["fell", "no_change", "rose", "not_enough_data"]


@dataclass(frozen=True)
class FixEffect:
    verdict: Verdict
    sentence: str  # what the page shows, e.g. "14.2/week → 1.5/week since the fix on Nov 3 (p < 0.001)"
    resolved_on: date
    days_before: int  # days in the window before the fix (the fix day is in neither window)
    days_after: int  # complete days after the fix day, up to yesterday
    tickets_before: int
    tickets_after: int
    rate_before: float | None  # tickets per week
    rate_after: float | None
    p_value: float | None  # one-sided, in the direction the rate moved


def fix_effect(daily_counts: Mapping[date, int], resolved_on: date, today: date, *,
               first_day: date | None = None, window_days: int = WINDOW_DAYS,
               min_days_after: int = MIN_DAYS_AFTER, alpha: float = ALPHA) -> FixEffect:
    """Compare the weekly ticket rate before and after the fix on `resolved_on`.

    `daily_counts` maps a day to its tickets (days not in it had none). `first_day` is the cluster's first
    report; by default the first day with tickets in `daily_counts`. `today` is left out (incomplete).
    """
    when = _day(resolved_on, today)
    days_after = max(0, (today - resolved_on).days - 1)
    after_days = [resolved_on + timedelta(days=i) for i in range(1, days_after + 1)]
    tickets_after = sum(max(0, daily_counts.get(d, 0)) for d in after_days)
    if first_day is None:
        first_day = min((d for d, n in daily_counts.items() if n > 0 and d < resolved_on), default=resolved_on)
    start = max(resolved_on - timedelta(days=window_days), first_day)
    days_before = max(0, (resolved_on - start).days)
    tickets_before = sum(max(0, daily_counts.get(start + timedelta(days=i), 0)) for i in range(days_before))

    def result(verdict: Verdict, sentence: str, p: float | None = None) -> FixEffect:
        return FixEffect(verdict, sentence, resolved_on, days_before, days_after, tickets_before, tickets_after,
                         _weekly(tickets_before, days_before), _weekly(tickets_after, days_after), p)

    if days_after < min_days_after:
        return result("not_enough_data", f"not enough data yet ({_n(days_after, 'day')} after the fix)")
    if days_before == 0:
        return result("not_enough_data", f"nothing to compare with: no reports before the fix on {when}")
    n = tickets_before + tickets_after
    share_after = days_after / (days_before + days_after)
    # The most extreme outcomes (all tickets before, or all after) are the smallest p-values n can give.
    if (1 - share_after) ** n >= alpha and share_after ** n >= alpha:
        return result("not_enough_data", f"not enough data yet ({_n(tickets_before, 'ticket')} before and "
                                         f"{tickets_after} after the fix on {when})")
    p_fell = float(binomtest(tickets_after, n, share_after, alternative="less").pvalue)
    p_rose = float(binomtest(tickets_after, n, share_after, alternative="greater").pvalue)
    before, after = _weekly(tickets_before, days_before), _weekly(tickets_after, days_after)
    assert before is not None and after is not None
    rates = f"{before:.1f}/week → {after:.1f}/week since the fix on {when}"
    if p_fell < alpha:
        return result("fell", f"{rates} ({_p(p_fell)})", p_fell)
    if p_rose < alpha:
        return result("rose", f"{rates}, a significant rise ({_p(p_rose)})", p_rose)
    p = p_fell if after <= before else p_rose
    return result("no_change", f"{rates}, no significant change ({_p(p)})", p)


@dataclass(frozen=True)
class Regression:
    regressed: bool
    reason: str
    tickets: int  # in the window looked at
    window_start: date | None  # the days looked at (None while in the grace period)
    window_end: date | None
    p_value: float | None  # when compared with the rate since the fix


def regressed(daily_counts: Mapping[date, int], resolved_on: date, today: date, *, grace_days: int = GRACE_DAYS,
              window_days: int = REGRESSION_WINDOW_DAYS, min_tickets: int = REGRESSION_MIN_TICKETS,
              alpha: float = ALPHA) -> Regression:
    """Whether a cluster whose fix is resolved gets reports again.

    The last `window_days` complete days after the grace period are looked at. While the days after the
    grace period are too few to know the rate since the fix (less than twice the window), `min_tickets`
    tickets in the window is a regression. After that it takes `min_tickets` and a significant rise over
    the rate since the fix (from the end of the grace period to the window).
    """
    when = _day(resolved_on, today)
    first = resolved_on + timedelta(days=grace_days + 1)  # the first day after the grace period
    last = today - timedelta(days=1)  # the last complete day
    if last < first:
        return Regression(False, f"in the {grace_days}-day grace period after the fix on {when}", 0, None, None, None)
    start = max(first, today - timedelta(days=window_days))
    window = [start + timedelta(days=i) for i in range((last - start).days + 1)]
    tickets = sum(max(0, daily_counts.get(d, 0)) for d in window)
    span = f"{_n(tickets, 'ticket')} in the {_n(len(window), 'day')} to {_day(last, today)}"
    baseline_days = (start - first).days
    if baseline_days < 2 * window_days:
        if tickets >= min_tickets:
            return Regression(True, f"{span}, after the fix on {when}", tickets, start, last, None)
        return Regression(False, f"only {span}, after the fix on {when}", tickets, start, last, None)
    baseline = sum(max(0, daily_counts.get(first + timedelta(days=i), 0)) for i in range(baseline_days))
    p = float(binomtest(tickets, tickets + baseline, len(window) / (len(window) + baseline_days),
                        alternative="greater").pvalue)
    since = f"{baseline / baseline_days * 7:.1f}/week"
    if tickets >= min_tickets and p < alpha:
        return Regression(True, f"{span}, up from {since} since the fix on {when} ({_p(p)})", tickets, start, last, p)
    return Regression(False, f"{span}, against {since} since the fix on {when}: no significant rise",
                      tickets, start, last, p)


def _weekly(tickets: int, days: int) -> float | None:
    return tickets / days * 7 if days > 0 else None


def _p(p: float) -> str:
    return "p < 0.001" if p < 0.001 else f"p = {p:.2g}"


def _n(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


def _day(day: date, today: date) -> str:
    return f"{day:%b} {day.day}" + ("" if day.year == today.year else f", {day.year}")
