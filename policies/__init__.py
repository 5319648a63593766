"""Routing policy and task-type catalog: pure decisions over typed requests, loaded from YAML."""

from genroute.policies.catalog import TaskType, TaskTypeCatalog, load_catalog
from genroute.policies.routing import RoutingPolicy, load_policy

__all__ = ["RoutingPolicy", "TaskType", "TaskTypeCatalog", "load_catalog", "load_policy"]
