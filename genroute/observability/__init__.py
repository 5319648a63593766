"""Logs that follow a task across processes, and the Prometheus metrics, defined once."""
