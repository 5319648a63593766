"""Repository functions for API keys: create (returning the secret once), look up by secret,
list and revoke. None of them commits: the caller owns the transaction."""

import contextlib
import hashlib
import hmac
import secrets
import uuid
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from genroute.contract import Scope
from genroute.db.models import ApiKey

KEY_PREFIX = "gr_"


@dataclass(frozen=True)
class IssuedKey:
    row: ApiKey
    secret: str


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def create_key(
    session: Session,
    owner: str,
    scopes: list[Scope],
    name: str = "",
    rate_limit_per_minute: int | None = None,
) -> IssuedKey:
    """A new key `gr_<prefix>_<secret>`; the full text exists only in the returned value."""
    prefix = secrets.token_hex(6)
    secret = f"{KEY_PREFIX}{prefix}_{secrets.token_urlsafe(32)}"
    row = ApiKey(
        id=uuid.uuid4(),
        prefix=prefix,
        secret_hash=_hash(secret),
        owner=owner,
        name=name or owner,
        scopes=sorted({scope.value for scope in scopes}),
        rate_limit_per_minute=rate_limit_per_minute,
    )
    session.add(row)
    session.flush()
    return IssuedKey(row, secret)


def find_key(session: Session, secret: str) -> ApiKey | None:
    """The live key whose secret this is, or None (unknown, malformed or revoked)."""
    parts = secret.removeprefix(KEY_PREFIX).split("_", 1)
    if not secret.startswith(KEY_PREFIX) or len(parts) != 2:
        return None
    row = session.scalars(select(ApiKey).where(ApiKey.prefix == parts[0])).one_or_none()
    if row is None or row.revoked_at is not None:
        return None
    return row if hmac.compare_digest(row.secret_hash, _hash(secret)) else None


def list_keys(session: Session) -> list[ApiKey]:
    return list(session.scalars(select(ApiKey).order_by(ApiKey.created_at)))


def key_by_id_or_prefix(session: Session, key_id_or_prefix: str) -> ApiKey | None:
    """The key (live or revoked) with this id or prefix, or None."""
    matches = ApiKey.prefix == key_id_or_prefix
    with contextlib.suppress(ValueError):  # an id as well as a prefix
        matches = matches | (ApiKey.id == uuid.UUID(key_id_or_prefix))
    return session.scalars(select(ApiKey).where(matches)).one_or_none()


def revoke_key(session: Session, key_id_or_prefix: str) -> ApiKey | None:
    """Revoke by id or prefix; None if no such key. Revoking twice keeps the first time."""
    row = key_by_id_or_prefix(session, key_id_or_prefix)
    if row is not None and row.revoked_at is None:
        row.revoked_at = func.now()
    return row
