"""The routing policy as the API routes by it: the policy file over the catalog, with what the
paths file says of each path (where its data goes, what its model takes in, which model)."""

from pathlib import Path

from genroute.policies import RoutingPolicy, load_catalog, load_policy
from genroute.runtime.path_modalities import load_path_modalities
from genroute.runtime.path_models import load_path_models
from genroute.runtime.placement import load_data_locations
from genroute.settings import Settings


def load_routing_policy(settings: Settings, policy_file: Path | None = None) -> RoutingPolicy:
    """`policy_file` (default: the configured one) bound to the configured catalog and paths."""
    return load_policy(
        policy_file or settings.policy_file,
        load_catalog(settings.task_types_file),
        load_data_locations(settings.paths_file),
        load_path_modalities(settings.paths_file),
        load_path_models(settings.paths_file),
    )
