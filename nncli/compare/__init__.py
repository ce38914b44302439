"""Many trainings of one problem.

- `executors`: serial, process-pool and Ray executors, one `map(fn, items, on_result)` interface.
- `sweep`, `trial`, `sweep_run`: sweeps — a config and a spec expanded into trials (`--set` overrides),
  one trial as a pure function, and the driver that runs them into a folder and resumes it.
- `plan`, `records`, `results`, `landscapes`: compare-optimizers — presets and plans, the records passed
  between them, ranking and result files, and 2-parameter loss surfaces.
"""
