"""Output validators and the per-task-type pipeline that runs them."""
