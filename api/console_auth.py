"""Who is signed in to the console: the API key in the console's cookie (HttpOnly,
SameSite=Strict, readable only under `/console`), checked like any API key, and what a page
answers when that key may not open it."""

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from genroute.api import console_pages as pages
from genroute.api.auth import Principal, principal_of
from genroute.api.deps import SessionsDep
from genroute.contract import Scope

COOKIE = "genroute_console"


def signed_in(request: Request, sessions: SessionsDep) -> Principal | None:
    presented = request.cookies.get(COOKIE)
    return principal_of(sessions, presented) if presented else None


def allowed(request: Request, sessions: SessionsDep, scope: Scope) -> Principal | Response:
    """The signed-in caller if its key has `scope`; else where it goes instead (the sign-in
    page, or a page saying which scope the key lacks)."""
    principal = signed_in(request, sessions)
    if principal is None:
        return RedirectResponse("/console/", status_code=303)
    if not principal.may(scope):
        message = f"this API key lacks the '{scope}' scope (it has {sorted(principal.scopes)})"
        return HTMLResponse(pages.refused(message), status_code=403)
    return principal


def landing(principal: Principal) -> str:
    """Where a signed-in caller starts: reviewing if it may, else the scorecard."""
    return "/console/review" if principal.may(Scope.review) else "/console/scorecard"
