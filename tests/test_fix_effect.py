"""Did the fix bend the trend (fix_effect) and did the problem come back (regressed): exact figures.

Where a p-value has a closed form (no tickets on one side: p = share ** n) it is checked against it; the
others are the binomial tail values, computed once and written down.
"""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from miner.fixes.effect import fix_effect, regressed

FIX = date(2026, 11, 3)


def days(first: date, n: int, per_day: int = 1) -> dict[date, int]:
    return {first + timedelta(days=i): per_day for i in range(n)}


def before(n: int, per_day: int = 1) -> dict[date, int]:
    """`per_day` tickets on each of the `n` days before the fix."""
    return days(FIX - timedelta(days=n), n, per_day)


def spread(first: date, n_days: int, tickets: int) -> dict[date, int]:
    """`tickets` tickets over `n_days` days from `first`, one a day from the start."""
    return {first + timedelta(days=i): 1 for i in range(tickets)} if tickets <= n_days else {}


# --- fix_effect ------------------------------------------------------------------------------------


def test_a_clear_fall_reads_as_the_rates_and_a_tiny_p_value() -> None:
    counts = before(28, 2) | {FIX + timedelta(days=d): 1 for d in (2, 5, 9)}
    effect = fix_effect(counts, FIX, date(2026, 11, 17))
    assert effect.verdict == "fell"
    assert (effect.days_before, effect.days_after) == (28, 13)  # Nov 4..16: the fix day and today left out
    assert (effect.tickets_before, effect.tickets_after) == (56, 3)
    assert effect.rate_before == 14.0
    assert effect.rate_after == pytest.approx(3 / 13 * 7)
    assert effect.p_value == pytest.approx(6.172518669093546e-07, rel=1e-9)
    assert effect.sentence == "14.0/week → 1.6/week since the fix on Nov 3 (p < 0.001)"


def test_the_same_rate_after_the_fix_is_no_significant_change() -> None:
    counts = before(28) | days(FIX + timedelta(days=1), 14)
    effect = fix_effect(counts, FIX, FIX + timedelta(days=15))
    assert effect.verdict == "no_change"
    assert (effect.rate_before, effect.rate_after) == (7.0, 7.0)
    assert effect.p_value == pytest.approx(0.5718937777779302, rel=1e-9)  # P(X <= 14), X ~ Bin(42, 1/3)
    assert effect.sentence == "7.0/week → 7.0/week since the fix on Nov 3, no significant change (p = 0.57)"


def test_more_tickets_after_the_fix_is_a_rise() -> None:
    counts = spread(FIX - timedelta(days=28), 28, 14) | days(FIX + timedelta(days=1), 10, 2)
    effect = fix_effect(counts, FIX, FIX + timedelta(days=15), first_day=FIX - timedelta(days=28))
    assert effect.verdict == "rose"
    assert (effect.tickets_before, effect.tickets_after) == (14, 20)
    assert effect.p_value == pytest.approx(0.002003139464290955, rel=1e-9)  # P(X >= 20), X ~ Bin(34, 1/3)
    assert effect.sentence == "3.5/week → 10.0/week since the fix on Nov 3, a significant rise (p = 0.002)"


def test_no_tickets_after_the_fix_falls_significantly_once_there_were_enough_before() -> None:
    counts = spread(FIX - timedelta(days=28), 28, 8)
    effect = fix_effect(counts, FIX, FIX + timedelta(days=15), first_day=FIX - timedelta(days=28))
    assert effect.verdict == "fell"
    assert effect.p_value == pytest.approx((2 / 3) ** 8)  # every ticket fell before the fix
    assert effect.sentence == "2.0/week → 0.0/week since the fix on Nov 3 (p = 0.039)"


def test_no_tickets_after_the_fix_is_no_proof_when_there_were_few_before() -> None:
    counts = spread(FIX - timedelta(days=28), 28, 6)
    effect = fix_effect(counts, FIX, FIX + timedelta(days=15), first_day=FIX - timedelta(days=28))
    assert effect.verdict == "no_change"
    assert effect.p_value == pytest.approx((2 / 3) ** 6)
    assert effect.sentence == "1.5/week → 0.0/week since the fix on Nov 3, no significant change (p = 0.088)"


def test_no_tickets_before_the_fix_within_the_clusters_life_and_many_after_is_a_rise() -> None:
    counts = spread(FIX + timedelta(days=1), 14, 10)
    effect = fix_effect(counts, FIX, FIX + timedelta(days=15), first_day=FIX - timedelta(days=28))
    assert effect.verdict == "rose"
    assert effect.p_value == pytest.approx((1 / 3) ** 10)  # every ticket fell after the fix
    assert effect.sentence == "0.0/week → 5.0/week since the fix on Nov 3, a significant rise (p < 0.001)"


def test_a_cluster_first_reported_after_the_fix_has_nothing_to_compare_with() -> None:
    counts = days(FIX + timedelta(days=2), 10)
    effect = fix_effect(counts, FIX, FIX + timedelta(days=20))
    assert effect.verdict == "not_enough_data"
    assert effect.days_before == 0
    assert effect.sentence == "nothing to compare with: no reports before the fix on Nov 3"


def test_too_few_tickets_on_both_sides_say_nothing_yet() -> None:
    # 2 tickets before and none after: even the most extreme split of 2 gives p = (2/3)^2 = 0.44
    counts = {FIX - timedelta(days=20): 1, FIX - timedelta(days=3): 1}
    effect = fix_effect(counts, FIX, FIX + timedelta(days=15), first_day=FIX - timedelta(days=28))
    assert effect.verdict == "not_enough_data"
    assert effect.p_value is None
    assert effect.sentence == "not enough data yet (2 tickets before and 0 after the fix on Nov 3)"


@pytest.mark.parametrize(("today", "days_after"), [
    (FIX, 0),  # fixed today
    (FIX + timedelta(days=1), 0),  # yesterday: today is still coming in
    (FIX + timedelta(days=7), 6),
    (FIX - timedelta(days=5), 0),  # a fix dated in the future
])
def test_less_than_a_week_after_the_fix_is_too_early(today: date, days_after: int) -> None:
    effect = fix_effect(before(28, 5), FIX, today)
    assert effect.verdict == "not_enough_data"
    assert effect.days_after == days_after
    assert effect.sentence == f"not enough data yet ({days_after} day{'' if days_after == 1 else 's'} after the fix)"


def test_seven_complete_days_after_the_fix_are_enough() -> None:
    counts = before(28) | {FIX + timedelta(days=3): 1}
    effect = fix_effect(counts, FIX, FIX + timedelta(days=8))
    assert effect.days_after == 7
    assert effect.verdict == "fell"
    assert effect.p_value == pytest.approx(0.012766256655130506, rel=1e-9)  # P(X <= 1), X ~ Bin(29, 1/5)


def test_a_cluster_younger_than_the_window_is_compared_over_its_own_life() -> None:
    counts = days(FIX - timedelta(days=10), 10, 2) | days(FIX + timedelta(days=1), 14)
    effect = fix_effect(counts, FIX, FIX + timedelta(days=15))
    assert (effect.days_before, effect.tickets_before, effect.rate_before) == (10, 20, 14.0)


def test_only_the_28_days_before_the_fix_count() -> None:
    counts = before(60, 3) | before(28)  # 3 a day long ago, 1 a day in the last four weeks
    effect = fix_effect(counts, FIX, FIX + timedelta(days=15))
    assert (effect.days_before, effect.tickets_before) == (28, 28)


def test_tickets_on_the_fix_day_and_today_count_on_neither_side() -> None:
    counts = before(28) | {FIX: 50, FIX + timedelta(days=15): 50} | days(FIX + timedelta(days=1), 14)
    effect = fix_effect(counts, FIX, FIX + timedelta(days=15))
    assert (effect.tickets_before, effect.tickets_after) == (28, 14)


def test_a_fix_in_another_year_is_dated_with_its_year() -> None:
    fix = date(2025, 12, 20)
    counts = days(fix - timedelta(days=28), 28, 2)
    effect = fix_effect(counts, fix, date(2026, 1, 10))
    assert effect.sentence.endswith("since the fix on Dec 20, 2025 (p < 0.001)")


# --- regressed -------------------------------------------------------------------------------------


def test_reports_in_the_grace_week_are_no_regression() -> None:
    counts = {FIX + timedelta(days=2): 5}
    verdict = regressed(counts, FIX, FIX + timedelta(days=8))  # last complete day: the grace period's end
    assert not verdict.regressed
    assert verdict.reason == "in the 7-day grace period after the fix on Nov 3"
    assert verdict.window_start is None


def test_three_tickets_in_the_week_after_the_grace_period_is_a_regression() -> None:
    counts = {FIX + timedelta(days=2): 5, date(2026, 11, 12): 1, date(2026, 11, 16): 2}
    verdict = regressed(counts, FIX, date(2026, 11, 18))
    assert verdict.regressed
    assert (verdict.window_start, verdict.window_end, verdict.tickets) == (date(2026, 11, 11), date(2026, 11, 17), 3)
    assert verdict.reason == "3 tickets in the 7 days to Nov 17, after the fix on Nov 3"


def test_two_tickets_in_the_week_after_the_grace_period_are_not() -> None:
    counts = {date(2026, 11, 12): 1, date(2026, 11, 16): 1}
    verdict = regressed(counts, FIX, date(2026, 11, 18))
    assert not verdict.regressed
    assert verdict.reason == "only 2 tickets in the 7 days to Nov 17, after the fix on Nov 3"


def test_three_tickets_already_in_the_first_days_after_the_grace_period_are_a_regression() -> None:
    verdict = regressed({date(2026, 11, 11): 2, date(2026, 11, 12): 1}, FIX, date(2026, 11, 13))
    assert verdict.regressed
    assert verdict.reason == "3 tickets in the 2 days to Nov 12, after the fix on Nov 3"


def test_later_a_regression_is_a_significant_rise_over_the_rate_since_the_fix() -> None:
    # since the grace period: Nov 11 .. Dec 7 quiet (27 days), then 3 tickets in the week to Dec 14
    counts = {date(2026, 12, 9): 1, date(2026, 12, 12): 2}
    verdict = regressed(counts, FIX, date(2026, 12, 15))
    assert verdict.regressed
    assert verdict.p_value == pytest.approx((7 / 34) ** 3)
    assert verdict.reason == ("3 tickets in the 7 days to Dec 14, up from 0.0/week since the fix on Nov 3 "
                              "(p = 0.0087)")


def test_later_the_usual_trickle_since_the_fix_is_no_regression() -> None:
    quiet = {date(2026, 11, 11) + timedelta(days=3 * i): 1 for i in range(8)}  # 8 tickets Nov 11 .. Dec 2
    counts = quiet | {date(2026, 12, 9): 1, date(2026, 12, 12): 2}
    verdict = regressed(counts, FIX, date(2026, 12, 15))
    assert not verdict.regressed
    assert verdict.p_value == pytest.approx(0.4021320086666152, rel=1e-9)  # P(X >= 3), X ~ Bin(11, 7/34)
    assert verdict.reason == ("3 tickets in the 7 days to Dec 14, against 2.1/week since the fix on Nov 3: "
                              "no significant rise")
