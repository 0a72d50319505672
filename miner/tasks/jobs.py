"""The kinds of runs, their validated parameters, and how each becomes a task function.

The parameter models are the contract at every boundary (REST body, dashboard form, CLI flag): an
unknown field or an out-of-range value is rejected with a message naming the field.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from miner.errors import MinerError
from miner.tasks.runner import TaskFn


class BadParams(MinerError):
    """Parameters failed validation; `field` names the first offending one."""

    def __init__(self, field: str, message: str) -> None:
        self.field = field
        super().__init__(f"{field}: {message}" if field else message)


class _Params(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class NoParams(_Params):
    pass


class SyncParams(_Params):
    backfill_days: int | None = Field(None, ge=0, le=3650, description="also re-read the last N days")


class AnalyzeParams(_Params):
    batch_size: int | None = Field(None, ge=1, le=100_000, description="tickets to analyse in this run "
                                   "(default: every ticket waiting, within the run budget)")


class PipelineParams(_Params):
    backfill_days: int | None = Field(None, ge=0, le=3650)
    batch_size: int | None = Field(None, ge=1, le=100_000, description="as for analyze")


@dataclass(frozen=True)
class TaskSpec:
    kind: str
    label: str
    params: type[_Params]
    exclusive: bool  # takes the run lease (anything that writes tickets, issues or clusters)
    factory: Callable[[Any, Any], TaskFn]  # (pipeline.Context, params model) -> TaskFn


def _specs() -> dict[str, TaskSpec]:
    from miner import pipeline as p

    return {
        "sync": TaskSpec("sync", "Zendesk sync", SyncParams, True,
                         lambda ctx, a: p.sync_task(ctx, backfill_days=a.backfill_days)),
        "analyze": TaskSpec("analyze", "Analyze tickets", AnalyzeParams, True,
                            lambda ctx, a: p.analyze_task(ctx, batch_size=a.batch_size)),
        "cluster": TaskSpec("cluster", "Cluster issues", NoParams, True,
                            lambda ctx, a: p.cluster_task(ctx)),
        "trends": TaskSpec("trends", "Update trends", NoParams, True,
                           lambda ctx, a: p.trends_task(ctx)),
        "pipeline": TaskSpec("pipeline", "Full pipeline", PipelineParams, True,
                             lambda ctx, a: p.pipeline_task(ctx, backfill_days=a.backfill_days,
                                                            batch_size=a.batch_size)),
        "weekly_report": TaskSpec("weekly_report", "Weekly report", NoParams, False,
                                  lambda ctx, a: p.report_task(ctx)),
        "monthly_cleanup": TaskSpec("monthly_cleanup", "Monthly cleanup", NoParams, False,
                                    lambda ctx, a: p.cleanup_task(ctx)),
    }


def spec(kind: str) -> TaskSpec:
    specs = _specs()
    if kind not in specs:
        raise BadParams("kind", f"unknown task {kind!r}; expected one of {', '.join(specs)}")
    return specs[kind]


def validate_params(kind: str, params: dict[str, Any] | None) -> _Params:
    model = spec(kind).params
    try:
        return model.model_validate(params or {})
    except ValidationError as exc:
        err = exc.errors()[0]
        field = ".".join(str(p) for p in err.get("loc", ()))
        message = err["msg"]
        if err["type"] == "extra_forbidden":
            allowed = ", ".join(model.model_fields) or "none"
            message = f"unknown field (allowed: {allowed})"
        raise BadParams(field, message) from None
