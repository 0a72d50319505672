"""The task registry: every kind of run a person or a schedule can start, with its parameters.

Each `TaskSpec` names a run kind, says what it does, lists its parameters (type, default, bounds,
help, form label) and builds the run's task function from `miner.pipeline`. This one definition drives
every boundary: the CLI's flags (`miner.cli`), the REST bodies' validation (`miner.api`) and the
dashboard's forms (`pages/operations.py`). An unknown field or an out-of-range value is rejected with a
message naming the field.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, create_model

from miner import pipeline
from miner.errors import MinerError, first_error
from miner.progress import RunContext, TaskFn
from miner.vocabulary import RunKind


class BadParams(MinerError):
    """Parameters failed validation; `field` names the first offending one."""

    def __init__(self, field: str, message: str) -> None:
        self.field = field
        super().__init__(f"{field}: {message}" if field else message)


@dataclass(frozen=True)
class Param:
    """One parameter of a run: a whole number within bounds (left out: None), or a flag (default off)."""

    name: str  # the REST body's field and the task function's keyword; the CLI flag is --name-with-dashes
    type: type[int] | type[bool]
    help: str  # the CLI's --help line and the REST field's description
    label: str = ""  # the dashboard form's label
    low: int = 0
    high: int = 0
    step: int = 1  # the dashboard form's step

    @property
    def default(self) -> int | bool | None:
        return False if self.type is bool else None

    @property
    def flag(self) -> str:
        return "--" + self.name.replace("_", "-")

    def field(self) -> tuple[Any, Any]:
        """The pydantic field: (type, FieldInfo)."""
        if self.type is bool:
            return bool, Field(self.default, description=self.help)
        return int | None, Field(self.default, ge=self.low, le=self.high, description=self.help)


@dataclass(frozen=True)
class TaskSpec:
    kind: RunKind
    help: str  # what a run of this kind does, in one line (the CLI command's help)
    params: tuple[Param, ...]
    build: Callable[..., TaskFn]  # build(context, **validated params) -> the run's task function
    exclusive: bool = True  # takes the run lease (anything that writes tickets, issues or clusters)
    model: type[BaseModel] = field(init=False, repr=False, compare=False)  # validates a REST body / form

    def __post_init__(self) -> None:
        model = create_model(  # type: ignore[call-overload]
            f"{self.kind.title().replace('_', '')}Params",
            __config__=ConfigDict(extra="forbid", strict=True),
            **{param.name: param.field() for param in self.params},
        )
        object.__setattr__(self, "model", model)

    def validate(self, params: Mapping[str, Any] | None) -> dict[str, Any]:
        """The parameters, checked and completed with defaults; raises BadParams naming the field."""
        try:
            return self.model.model_validate(dict(params or {})).model_dump()
        except ValidationError as exc:
            name, message, kind = first_error(exc)
            if kind == "extra_forbidden":
                allowed = ", ".join(p.name for p in self.params) or "none"
                message = f"unknown field (allowed: {allowed})"
            raise BadParams(name, message) from None

    def task(self, ctx: RunContext, params: Mapping[str, Any]) -> TaskFn:
        """The task function for parameters `validate` returned."""
        return self.build(ctx, **params)


BACKFILL_DAYS = Param("backfill_days", int, "also re-read the last N days (harmless; fills gaps)",
                      label="Also re-read the last N days", low=0, high=3650)
BATCH_SIZE = Param("batch_size", int, "tickets to analyse in this run (default: every ticket waiting, "
                   "within the run budget)", label="Tickets in this run", low=1, high=100_000, step=100)

TASKS: dict[RunKind, TaskSpec] = {spec.kind: spec for spec in (
    TaskSpec(RunKind.SYNC, "pull new and changed tickets and comments from Zendesk", (BACKFILL_DAYS,),
             pipeline.sync_task),
    TaskSpec(RunKind.ANALYZE, "extract product issues from tickets not analysed yet", (BATCH_SIZE,),
             pipeline.analyze_task),
    TaskSpec(RunKind.CLUSTER, "group issues into clusters (then refresh trends)",
             (Param("full", bool, "re-cluster everything (ids are kept by overlap)"),), pipeline.cluster_task),
    TaskSpec(RunKind.TRENDS, "recompute daily figures and emerging clusters",
             (Param("full", bool, "recompute every day, not only changed ones"),), pipeline.trends_task),
    TaskSpec(RunKind.PIPELINE, "sync, analyze, cluster and trends in one run",
             (replace(BACKFILL_DAYS, label="Re-read days"), replace(BATCH_SIZE, label="Tickets to analyse")),
             pipeline.pipeline_task),
    TaskSpec(RunKind.WEEKLY_REPORT, "write the weekly digest", (), pipeline.report_task, exclusive=False),
    TaskSpec(RunKind.MONTHLY_CLEANUP, "prune old records and purge deleted tickets' content", (),
             pipeline.cleanup_task, exclusive=False),
    # writes only cluster_links (a link's last known state): runs beside the pipeline
    TaskSpec(RunKind.REFRESH_LINKS, "re-read the Jira and GitHub issues clusters are linked to (status, "
             "resolution date)", (), pipeline.refresh_links_task, exclusive=False),
)}


def spec(kind: str) -> TaskSpec:
    """The spec of `kind` (a RunKind or its string); BadParams when there is no such task."""
    try:
        return TASKS[RunKind(kind)]
    except (ValueError, KeyError):
        raise BadParams("kind", f"unknown task {kind!r}; expected one of {', '.join(TASKS)}") from None
