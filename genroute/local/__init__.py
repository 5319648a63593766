"""Running genroute on one machine: embedded PostgreSQL and Redis, supervised child processes,
the stack of API and workers, `serve`, the demo, evaluation runs and Flower."""
