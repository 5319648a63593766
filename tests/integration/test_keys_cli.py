"""`genroute keys create|list|revoke` against the test database, and the API honouring them."""

import json
import subprocess
import sys

import httpx
import pytest

from genroute.local.embedded import child_environment
from genroute.local.stack import Stack
from genroute.settings import Settings

pytestmark = pytest.mark.integration


def _genroute(settings: Settings, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "genroute", "keys", *args],
        env=child_environment(settings),
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_create_list_revoke(settings: Settings, stack: Stack) -> None:
    created = _genroute(settings, "create", "--owner", "support-bot", "--scope", "read", "--json")
    assert created.returncode == 0, created.stderr
    issued = json.loads(created.stdout)
    assert issued["scopes"] == ["read"] and issued["key"].startswith("gr_")
    headers = {"Authorization": f"Bearer {issued['key']}"}
    assert httpx.get(f"{stack.api_url}/v1/paths", headers=headers).status_code == 200

    listed = [
        json.loads(line) for line in _genroute(settings, "list", "--json").stdout.splitlines()
    ]
    mine = next(row for row in listed if row["id"] == issued["id"])
    assert mine["owner"] == "support-bot" and mine["revoked_at"] is None
    assert "key" not in mine

    revoked = _genroute(settings, "revoke", issued["prefix"])
    assert revoked.returncode == 0, revoked.stderr
    assert httpx.get(f"{stack.api_url}/v1/paths", headers=headers).status_code == 401

    unknown = _genroute(settings, "revoke", "nosuchkey")
    assert unknown.returncode != 0 and "no key with id or prefix" in unknown.stderr
