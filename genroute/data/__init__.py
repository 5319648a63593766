"""Data shipped in the package: the demo's tickets and the HTML report's script."""

import json
from importlib import resources
from typing import Any


def bundled_tickets() -> list[dict[str, Any]]:
    """The packaged support tickets (`tickets.jsonl`): each a task request, some with a
    screenshot spec, for the demo, the sample backlog and the benches."""
    text = resources.files(__name__).joinpath("tickets.jsonl").read_text()
    return [json.loads(line) for line in text.splitlines() if line.strip()]
