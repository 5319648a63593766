"""API-key authentication and scope checks. A key arrives as `Authorization: Bearer <key>` or
`X-API-Key: <key>`; the route's dependency names the scope it needs (`admin` implies all)."""

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session, sessionmaker

from genroute.api.deps import SessionsDep
from genroute.contract import Scope
from genroute.db.api_keys import find_key
from genroute.errors import Forbidden, Unauthenticated


@dataclass(frozen=True)
class Principal:
    """Who is calling: the key's id, owner, scopes and own rate limit (None: the default)."""

    key_id: uuid.UUID
    owner: str
    scopes: frozenset[str]
    rate_limit_per_minute: int | None

    @property
    def is_admin(self) -> bool:
        return Scope.admin.value in self.scopes

    def may(self, scope: Scope) -> bool:
        return self.is_admin or scope.value in self.scopes

    def owner_filter(self) -> str | None:
        """The owner whose tasks this caller may see; None means every owner's (admin)."""
        return None if self.is_admin else self.owner


# Declared as security schemes so the OpenAPI document says how to authenticate.
_bearer = HTTPBearer(auto_error=False, description="Authorization: Bearer <API key>")
_header = APIKeyHeader(name="X-API-Key", auto_error=False, description="the API key")


def _principal(
    sessions: SessionsDep,
    bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    header: Annotated[str | None, Depends(_header)],
) -> Principal:
    presented = (bearer.credentials if bearer else None) or header
    if not presented:
        raise Unauthenticated(
            "authorization", "an API key is required: send 'Authorization: Bearer <key>'"
        )
    principal = principal_of(sessions, presented)
    if principal is None:
        raise Unauthenticated("authorization", "the API key is unknown or revoked")
    return principal


def principal_of(sessions: sessionmaker[Session], presented: str) -> Principal | None:
    """Who `presented` (an API key's text) is, or None if no live key. A session of its own,
    closed before the handler runs: a long poll must not keep this lookup's connection (idle
    in transaction) for as long as it waits."""
    with sessions() as session:
        row = find_key(session, presented.strip())
        if row is None:
            return None
        return Principal(row.id, row.owner, frozenset(row.scopes), row.rate_limit_per_minute)


def requires(scope: Scope) -> Callable[[Principal], Principal]:
    def check(principal: Annotated[Principal, Depends(_principal)]) -> Principal:
        if not principal.may(scope):
            raise Forbidden(
                "authorization",
                f"this API key lacks the '{scope.value}' scope (it has {sorted(principal.scopes)})",
            )
        return principal

    return check


Submitter = Annotated[Principal, Depends(requires(Scope.submit))]
Reader = Annotated[Principal, Depends(requires(Scope.read))]
