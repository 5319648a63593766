"""`genroute serve`: the whole stack in the foreground, for local use and the backlog example:
the API (with its console), a worker per path and Flower behind generated credentials. Dead
workers are restarted (as a supervisor would); a dead API ends the command."""

import json
import secrets
import signal
import threading

from genroute.contract import Scope
from genroute.db.migrate import upgrade
from genroute.errors import GenrouteError
from genroute.local.embedded import services
from genroute.local.stack import ALL_PATHS, running_stack
from genroute.settings import Settings


def serve_forever(settings: Settings) -> None:
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    with services(settings) as live:
        upgrade(live.database_url)
        log_dir = live.data_dir.resolve() / "logs"
        serve_file = live.data_dir / "serve.json"
        with running_stack(
            live,
            list(ALL_PATHS),
            log_dir,
            key_owner="local",
            key_scopes=(Scope.submit, Scope.read, Scope.review),
            port=live.api_port,
        ) as stack:
            serve_file.write_text(json.dumps({"api_url": stack.api_url, "api_key": stack.api_key}))
            serve_file.chmod(0o600)
            flower_password = secrets.token_urlsafe(12)
            flower_url = stack.start_flower("local", flower_password)
            print(f"genroute API on {stack.api_url}", flush=True)
            print(f"console: {stack.api_url}/console/ (sign in with the key below)", flush=True)
            print(f"Flower: {flower_url} (user local, password {flower_password})", flush=True)
            print(f"operators: {stack.ops_url}/metrics, /readyz, /docs", flush=True)
            print(f"API key: {stack.api_key}", flush=True)
            print(f"logs in {log_dir}; Ctrl-C stops everything", flush=True)
            try:
                while not stop.wait(2):
                    if not stack.api.alive():
                        raise GenrouteError(f"the API exited; see {stack.api.log_path}")
                    stack.restart_exited_workers()
            finally:
                serve_file.unlink(missing_ok=True)
