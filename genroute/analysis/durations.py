"""Durations as people write them on a command line or in a query string: 90s, 30m, 24h, 7d."""

import re
from datetime import timedelta

from genroute.errors import RequestRejected

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_PATTERN = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*$")


def parse_duration(text: str, field: str = "since") -> timedelta:
    """`text` as a timedelta; a clear error naming `field` when it is not like 90s/30m/24h/7d."""
    match = _PATTERN.match(text)
    if match is None:
        raise RequestRejected(
            field, f"'{text}' is not a duration; write a number and a unit: 90s, 30m, 24h, 7d, 2w"
        )
    return timedelta(seconds=float(match.group(1)) * _UNITS[match.group(2)])
