"""When demo tickets arrive: weekly and daily seasonality, day-to-day noise and slow growth."""

from __future__ import annotations

import random

# Relative ticket volume by weekday (Mon..Sun) and by UTC hour (customers in the Americas, EMEA, APAC).
WEEKDAY_VOLUME = (1.08, 1.03, 1.0, 0.97, 0.9, 0.44, 0.38)
HOUR_VOLUME = (0.55, 0.45, 0.35, 0.3, 0.3, 0.35, 0.5, 0.8, 1.1, 1.3, 1.4, 1.4, 1.35, 1.5, 1.7, 1.8, 1.8,
               1.7, 1.5, 1.3, 1.1, 0.95, 0.8, 0.65)


def arrival_times(rng: random.Random, start: int, cap: int, n_tickets: int) -> list[int]:
    """Creation times between `start` and `cap` (epoch seconds), sorted: hourly slots weighted by
    weekday, hour of day, daily noise and growth."""
    span = cap - start
    day_factor: dict[int, float] = {}
    starts: list[int] = []
    lengths: list[int] = []
    cum: list[float] = []
    total = 0.0
    t = start
    while t < cap:
        end = min(cap, (t // 3600 + 1) * 3600)
        day = t // 86400
        if day not in day_factor:
            factor = WEEKDAY_VOLUME[(day + 3) % 7] * rng.uniform(0.85, 1.15)  # 1970-01-01 was a Thursday
            if rng.random() < 0.03:
                factor *= 1.3  # the odd busy day (an outage elsewhere, a payroll deadline)
            day_factor[day] = factor
        growth = 0.9 + 0.2 * (t - start) / span
        total += day_factor[day] * HOUR_VOLUME[(t // 3600) % 24] * growth * (end - t) / 3600
        starts.append(t)
        lengths.append(end - t)
        cum.append(total)
        t = end
    slots = rng.choices(range(len(starts)), cum_weights=cum, k=n_tickets)
    times = [starts[s] + int(rng.random() * lengths[s]) for s in slots]
    times.sort()
    return times
