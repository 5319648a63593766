"""Where each path's data goes, as `workers/paths.yaml` declares it (`data_location`, default
`node`; env GENROUTE_<PATH>_DATA_LOCATION overrides). The API routes privacy tiers by this;
workers refuse to start when their engine would send data further than declared."""

import ipaddress
import os
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import urlsplit

from genroute.config import read_yaml_mapping
from genroute.contract import PathName, PrivacyTier
from genroute.errors import PolicyError


def load_data_locations(
    paths_file: Path, environ: Mapping[str, str] | None = None
) -> dict[PathName, PrivacyTier]:
    environ = os.environ if environ is None else environ
    entries = read_yaml_mapping(paths_file).get("paths") or {}
    locations = {}
    for path in PathName:
        entry = entries.get(path.value)
        declared = entry.get("data_location", "node") if isinstance(entry, dict) else "node"
        declared = environ.get(f"GENROUTE_{path.value.upper()}_DATA_LOCATION", declared)
        try:
            locations[path] = PrivacyTier(declared)
        except ValueError:
            raise PolicyError(
                f"{paths_file}: path '{path.value}': field 'data_location': '{declared}' is not "
                f"one of {[tier.value for tier in PrivacyTier]}"
            ) from None
    return locations


def location_of_url(url: str) -> PrivacyTier:
    """Where a server at `url` is: this node (loopback), the cluster (private addresses and
    cluster-internal names) or an external service (anything else)."""
    host = (urlsplit(url).hostname or "").lower()
    if host in ("localhost", "") or host.endswith(".localhost"):
        return PrivacyTier.node
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        internal = "." not in host or host.endswith((".local", ".internal", ".svc", ".cluster"))
        return PrivacyTier.cluster if internal else PrivacyTier.external
    if address.is_loopback:
        return PrivacyTier.node
    return PrivacyTier.cluster if address.is_private else PrivacyTier.external
