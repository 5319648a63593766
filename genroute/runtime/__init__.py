"""What the API and the workers share while they run: the Celery app and the one
persist-then-publish, the sweeper, path states (the rollback controller's store), the rate
limiter, worker readiness records, privacy placement and the Redis key names."""
