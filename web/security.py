"""Response headers that every page carries."""
import secrets

from flask import Flask, g, request

CONTENT_SECURITY_POLICY = "; ".join([
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data: blob:",
    "object-src 'none'",
    "base-uri 'self'",
    "form-action 'self'",
    "frame-ancestors 'none'",
])
# The browser features no page uses, refused for every page (and whatever a page might embed).
PERMISSIONS_POLICY = "camera=(), microphone=(), geolocation=(), payment=(), usb=(), interest-cohort=()"
STAFF_PREFIX = "/console"


def csp_nonce() -> str:
    """A nonce for this response's own scripts and styles.

    Only pages that ask for one get it (Flask-Admin's, through `csp_nonce_generator`):
    everywhere else the policy stays 'self' only.
    """
    if "csp_nonce" not in g:
        g.csp_nonce = secrets.token_urlsafe(18)
    return g.csp_nonce


def content_security_policy(nonce: str | None = None) -> str:
    if nonce is None:
        return CONTENT_SECURITY_POLICY
    allowed = f"'self' 'nonce-{nonce}'"
    return (CONTENT_SECURITY_POLICY
            .replace("script-src 'self'", f"script-src {allowed}")
            .replace("style-src 'self'", f"style-src {allowed}"))


def init_app(app: Flask) -> None:
    @app.after_request
    def _headers(response):
        response.headers.setdefault("Content-Security-Policy", content_security_policy(g.get("csp_nonce")))
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        response.headers.setdefault("Permissions-Policy", PERMISSIONS_POLICY)
        # Staff screens show whole orders: kept by no cache, the browser's included. Elsewhere no
        # shared cache keeps a page, and the browser asks again but for going back, which then
        # finds a form as it was typed. Pages that may be cached (samples, static files) say so.
        response.headers.setdefault("Cache-Control", "private, no-store" if request.path.startswith(STAFF_PREFIX)
                                    else "private, no-cache")
        if app.config["SESSION_COOKIE_SECURE"]:
            response.headers.setdefault(
                "Strict-Transport-Security", "max-age=31536000; includeSubDomains"
            )
        return response
