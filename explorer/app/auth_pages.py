"""The two plain HTML pages of sign-in: the login form and the sign-out confirmation.

Kept apart from explorer.app.auth so the session logic stays short; both pages carry the
session's CSRF token in a hidden field and post back to themselves.
"""

from __future__ import annotations

import html

STYLE = """<style>
body{font-family:system-ui,-apple-system,"Segoe UI",Arial,sans-serif;background:#f3f4f6;color:#111;margin:0}
main{max-width:24rem;margin:10vh auto;background:#fff;padding:2rem;border-radius:8px;border:1px solid #d1d5db}
h1{font-size:1.4rem;margin-top:0} label{display:block;margin-top:1rem;font-weight:600}
input{width:100%;padding:.5rem;font-size:1rem;border:1px solid #6b7280;border-radius:4px;box-sizing:border-box}
button{margin-top:1.5rem;padding:.6rem 1.2rem;font-size:1rem;background:#005eb8;color:#fff;border:0;border-radius:4px}
button:focus,input:focus{outline:3px solid #ffb81c;outline-offset:1px} .error{color:#a4000f;font-weight:600}
</style>"""


def _page(title: str, body: str) -> str:
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title} - Population Health Explorer</title>
{STYLE}</head><body><main>
<h1>Population Health Explorer</h1>{body}</main></body></html>"""


def login_page(message: str, token: str, max_name: int) -> str:
    alert = f'<p role="alert" class="error">{html.escape(message)}</p>' if message else ""
    return _page("Sign in", f"""<p>Sign in to see care-plan coverage.</p>{alert}
<form method="post"><input type="hidden" name="csrf" value="{html.escape(token)}">
<label for="username">User name</label>
<input id="username" name="username" autocomplete="username" maxlength="{max_name}" required>
<label for="password">Password</label>
<input id="password" name="password" type="password" autocomplete="current-password" required>
<button type="submit">Sign in</button></form>""")


def logout_page(user: str, token: str, action: str) -> str:
    """Shown for GET /logout: signing out needs a POST with the token, never a bare link."""
    return _page("Sign out", f"""<p>Signed in as {html.escape(user)}.</p>
<form method="post" action="{html.escape(action)}"><input type="hidden" name="csrf" value="{html.escape(token)}">
<button type="submit">Sign out</button></form><p><a href="/">Back to the explorer</a></p>""")
