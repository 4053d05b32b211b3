"""OAuth: the auto-approving ``/portal/auth`` page and the ``oauth2/*`` endpoints."""

from __future__ import annotations

import html
import secrets
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from reverse_etl.destinations.tiktok.vocab import (
    CODE_BAD_APP_SECRET,
    CODE_BAD_AUTH_CODE,
    CODE_BAD_TOKEN,
)

from .context import BAD_TOKEN_MESSAGE, SandboxContext, params, required_str
from .envelope import ApiError, ApiRequest, Response
from .world import OAuthApp

SCOPES = [1, 2, 3]


def portal_auth(ctx: SandboxContext, req: ApiRequest) -> Response:
    """Approve at once: 302 to ``redirect_uri`` with ``auth_code`` and ``state`` added."""
    app_id = req.query.get("app_id", "")
    redirect_uri = req.query.get("redirect_uri", "")
    if ctx.world.oauth_app(app_id) is None:
        return _page(400, "Unknown app_id", f"No developer app with app_id {app_id!r}.")
    target = urlsplit(redirect_uri)
    if target.scheme not in ("http", "https") or not target.netloc:
        return _page(400, "Invalid redirect_uri", "redirect_uri must be an absolute http(s) URL.")
    query = parse_qsl(target.query, keep_blank_values=True)
    query.append(("auth_code", ctx.auth_codes.issue(app_id)))
    if "state" in req.query:
        query.append(("state", req.query["state"]))
    location = urlunsplit(target._replace(query=urlencode(query)))
    page = _page(302, "Authorised", "Redirecting to the application.")
    return Response(302, page.body, page.content_type, (("Location", location),))


def access_token(ctx: SandboxContext, req: ApiRequest) -> object:
    """``POST oauth2/access_token/``: exchange a single-use ``auth_code`` for a token."""
    body = req.json()
    app = _app(ctx, body.get("app_id"), body.get("secret"))
    code = required_str(body, "auth_code")
    if not ctx.auth_codes.redeem(app.app_id, code):
        raise ApiError(CODE_BAD_AUTH_CODE, "Auth code is invalid, expired or already used.")
    advertiser_ids = ctx.world.granted_advertisers(app)
    token = secrets.token_hex(20)
    ctx.world.add_token(token, advertiser_ids)
    return {"access_token": token, "advertiser_ids": advertiser_ids, "scope": SCOPES}


def advertiser_get(ctx: SandboxContext, req: ApiRequest) -> object:
    """``GET oauth2/advertiser/get/``: the advertisers the token may act for."""
    allowed = ctx.authenticate(req)
    _app(ctx, req.query.get("app_id"), req.query.get("secret"))
    advertisers = [a for a in ctx.world.advertisers() if a.advertiser_id in allowed]
    return {
        "list": [{"advertiser_id": a.advertiser_id, "advertiser_name": a.name} for a in advertisers]
    }


def revoke_token(ctx: SandboxContext, req: ApiRequest) -> object:
    """``POST oauth2/revoke_token/``: forget an access token."""
    body = params(req)
    app = _app(ctx, body.get("app_id"), body.get("secret"))
    token = required_str(body, "access_token")
    allowed = ctx.world.token_advertisers(token)
    if allowed is None or not ctx.world.revoke_token(token):
        raise ApiError(CODE_BAD_TOKEN, BAD_TOKEN_MESSAGE)
    return {"app_id": app.app_id, "advertiser_ids": sorted(allowed)}


def _app(ctx: SandboxContext, app_id: object, secret: object) -> OAuthApp:
    app = ctx.world.oauth_app(app_id) if isinstance(app_id, str) else None
    # Compare in constant time: the emulator should not teach timing-unsafe habits.
    if (
        app is None
        or not isinstance(secret, str)
        or not secrets.compare_digest(app.secret.encode(), secret.encode())
    ):
        raise ApiError(CODE_BAD_APP_SECRET, "The app_id or secret is invalid.")
    return app


def _page(status: int, title: str, text: str) -> Response:
    body = (
        f"<!doctype html><html><head><title>{html.escape(title)}</title></head>"
        f"<body><h1>{html.escape(title)}</h1><p>{html.escape(text)}</p></body></html>"
    ).encode()
    return Response(status, body, "text/html; charset=utf-8")
