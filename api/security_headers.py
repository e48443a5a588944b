"""Security headers on every response the app sends (issue 31, point 2).

A strict Content-Security-Policy (scripts and styles from this origin only: the pages keep no
inline script, style or event handler), no framing by another site (the approval forms could
otherwise be framed and clicked through), no referrer (console and feedback URLs carry signed
links and case ids), no MIME sniffing, and HSTS when the browser came over TLS.

Plain ASGI like the app's other middlewares. A response that sets its own policy keeps it (the
Temporal UI's detail frame, api/console/temporal_ui.py); under /temporal the dev server's UI
needs its inline bootstrap script, so there only framing by the same origin is set.
"""

from __future__ import annotations

CSP = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",  # data: for the pages' empty favicon and Swagger UI's icons
        "font-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    )
)
# The Temporal UI (proxied, not ours): framing by itself only (its detail frames)
TEMPORAL_UI_CSP = "frame-ancestors 'self'"
HSTS = b"max-age=31536000; includeSubDomains"

COMMON = (
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"cross-origin-opener-policy", b"same-origin"),
)


def came_over_tls(scope, trust_forwarded_proto: bool) -> bool:
    """scope["scheme"], or X-Forwarded-Proto when the settings say a proxy sets it (anyone can
    send the header); the same rule as the console cookie's Secure flag."""
    if trust_forwarded_proto:
        for name, value in scope.get("headers") or ():
            if name == b"x-forwarded-proto":
                forwarded = value.decode("latin-1").split(",")[0].strip()
                if forwarded:
                    return forwarded == "https"
    return scope.get("scheme") == "https"


def policy(form_targets: tuple[str, ...] = ()) -> str:
    """The pages' policy; `form_targets`: origins a form may lead to besides this one (the
    identity provider, where sign-out continues: a form's redirects are held to form-action)."""
    if not form_targets:
        return CSP
    return CSP.replace("form-action 'self'", " ".join(("form-action 'self'", *form_targets)))


class SecurityHeaders:
    def __init__(
        self, app, trust_forwarded_proto: bool = False, form_targets: tuple[str, ...] = ()
    ) -> None:
        self.app = app
        self.trust_forwarded_proto = trust_forwarded_proto
        self.csp = policy(form_targets)

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        temporal_ui = scope["path"] == "/temporal" or scope["path"].startswith("/temporal/")
        csp = (TEMPORAL_UI_CSP if temporal_ui else self.csp).encode()
        frame = b"SAMEORIGIN" if temporal_ui else b"DENY"
        tls = came_over_tls(scope, self.trust_forwarded_proto)

        async def send_with_headers(message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", ()))
                present = {k.lower() for k, _ in headers}
                extra = [(k, v) for k, v in COMMON if k not in present]
                if b"content-security-policy" not in present:
                    extra.append((b"content-security-policy", csp))
                if b"x-frame-options" not in present:
                    extra.append((b"x-frame-options", frame))
                if tls:
                    extra.append((b"strict-transport-security", HSTS))
                message = {**message, "headers": headers + extra}
            await send(message)

        await self.app(scope, receive, send_with_headers)
