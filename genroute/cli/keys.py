"""`genroute keys create|list|revoke`: API keys for producers and operators."""

import json

import click

from genroute.cli.support import live_database
from genroute.contract import Scope

SCOPES = [scope.value for scope in Scope]


@click.group()
def keys() -> None:
    """API keys: stored hashed; the secret is shown once, at creation."""


@keys.command("create")
@click.option("--owner", required=True, help="Who the key's tasks belong to.")
@click.option(
    "--scope",
    "scopes",
    multiple=True,
    type=click.Choice(SCOPES),
    default=("submit", "read"),
    show_default=True,
    help="Repeat for several; admin implies all and reads every owner's tasks.",
)
@click.option("--name", default="", help="A label (default: the owner).")
@click.option("--rate-limit", type=click.IntRange(1), default=None, help="Submissions/minute.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def keys_create(
    owner: str, scopes: tuple[str, ...], name: str, rate_limit: int | None, as_json: bool
) -> None:
    """Create a key and print its secret (the only time it is shown)."""
    from genroute.db.api_keys import create_key

    with live_database() as (_settings, sessions), sessions.begin() as session:
        issued = create_key(session, owner, [Scope(s) for s in scopes], name, rate_limit)
        row = issued.row
        info = {"id": str(row.id), "prefix": row.prefix, "owner": owner, "scopes": row.scopes}
    if as_json:
        click.echo(json.dumps({**info, "key": issued.secret}))
    else:
        click.echo(issued.secret)
        click.echo(f"id {info['id']}  owner {owner}  scopes {','.join(info['scopes'])}", err=True)


@keys.command("list")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
def keys_list(as_json: bool) -> None:
    """Every key, oldest first (secrets are never shown again)."""
    from genroute.db.api_keys import list_keys

    with live_database() as (_settings, sessions), sessions() as session:
        for row in list_keys(session):
            info = {
                "id": str(row.id),
                "prefix": row.prefix,
                "owner": row.owner,
                "name": row.name,
                "scopes": row.scopes,
                "rate_limit_per_minute": row.rate_limit_per_minute,
                "created_at": row.created_at.isoformat(),
                "revoked_at": row.revoked_at.isoformat() if row.revoked_at else None,
            }
            if as_json:
                click.echo(json.dumps(info))
            else:
                state = "revoked" if row.revoked_at else "live"
                scopes = ",".join(row.scopes)
                click.echo(f"{row.prefix}  {row.owner:<20} {scopes:<18} {state}  {row.id}")


@keys.command("revoke")
@click.argument("key")
def keys_revoke(key: str) -> None:
    """Revoke KEY (its id or prefix); its requests are refused at once."""
    from genroute.db.api_keys import revoke_key

    with live_database() as (_settings, sessions), sessions.begin() as session:
        row = revoke_key(session, key)
        if row is None:
            raise click.ClickException(f"no key with id or prefix '{key}'")
    click.echo(f"revoked {key}")
