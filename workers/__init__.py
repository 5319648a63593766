"""Celery workers: the generate task, per-process worker context and model engines."""
