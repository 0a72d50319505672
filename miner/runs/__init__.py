"""Running work: every run, whoever starts it, goes through this package.

- `registry`  the task specs: each run kind's parameters (type, default, bounds, help) and task function;
              the CLI's flags, the REST bodies and the dashboard's forms are all built from it
- `runner`    one run: the run lease, its `task_runs` row, heartbeats, the outcome
- `worker`    runs in background threads for the dashboard and the API, cancel, live status
- `history`   the `task_runs` table: start, finish, list, recover runs whose process died
- `lease`     database leases (one run at a time; one scheduler leader)
- `scheduler` the embedded APScheduler and the schedules it fires

It depends on `miner.pipeline` (the task functions) and on nothing above it: the process-wide app
(`miner.app`) and the seed's facade (`miner.tasks`) import it, never the other way round.
"""
