"""The sign-in and consent page of ``/oauth/authorize``: one self-contained HTML form (no script), every value
escaped. Signing in there grants the app the scopes it asked for."""

from __future__ import annotations

import html
from collections.abc import Mapping

from chirp.mastodon.oauth import ClientApp

# The request's OAuth parameters that the form carries over to its POST.
CARRIED = ("client_id", "redirect_uri", "scope", "state", "response_type", "code_challenge", "code_challenge_method")
_STYLE = (
    "body{font-family:system-ui,sans-serif;max-width:26rem;margin:3rem auto;padding:0 1rem;color:#14171a}"
    "label{display:block;margin:.8rem 0 .2rem}input[type=text],input[type=password]{width:100%;padding:.5rem;"
    "box-sizing:border-box}button{margin-top:1rem;padding:.6rem 1.2rem;background:#1d9bf0;color:#fff;border:0;"
    "border-radius:999px;font-weight:600}.error{color:#b00020}code{word-break:break-all}"
)


def consent_page(app: ClientApp, params: Mapping[str, str], scope: str, *, error: str | None = None) -> str:
    hidden = "".join(
        f'<input type="hidden" name="{name}" value="{html.escape(params.get(name, ""), quote=True)}">'
        for name in CARRIED
        if params.get(name)
    )
    site = f' (<a href="{html.escape(app.website, quote=True)}">{html.escape(app.website)}</a>)' if app.website else ""
    problem = f'<p class="error" role="alert">{html.escape(error)}</p>' if error else ""
    items = "".join(f"<li><code>{html.escape(s)}</code></li>" for s in scope.split())
    return (
        "<!doctype html><html lang=en><head><meta charset=utf-8>"
        '<meta name="viewport" content="width=device-width,initial-scale=1">'
        f"<title>Authorize {html.escape(app.name)} - Chirp</title><style>{_STYLE}</style></head><body>"
        f"<h1>Sign in to Chirp</h1><p><strong>{html.escape(app.name)}</strong>{site} asks to use your account with "
        f"these rights:</p><ul>{items}</ul>{problem}"
        f'<form method="post" action="/oauth/authorize">{hidden}'
        '<label for="username">Username</label><input type="text" id="username" name="username" '
        'autocomplete="username" required maxlength="64">'
        '<label for="password">Password</label><input type="password" id="password" name="password" '
        'autocomplete="current-password" required maxlength="256">'
        '<button type="submit">Authorize</button></form></body></html>'
    )


def code_page(code: str) -> str:
    """For apps without a redirect (urn:ietf:wg:oauth:2.0:oob): the code to paste into the app."""
    return (
        "<!doctype html><html lang=en><head><meta charset=utf-8><title>Authorization code - Chirp</title>"
        f"<style>{_STYLE}</style></head><body><h1>Authorization code</h1><p>Copy this code into the app:</p>"
        f'<p><code id="code">{html.escape(code)}</code></p></body></html>'
    )
