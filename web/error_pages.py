"""Error answers in the visitor's language: a page of the product's own for browsers (the
console's layout under /console), JSON for the channel API. Every HTTP error goes through here
(400, 403, 404, 405, 413, 429, 500), Flask-Limiter's 429 and werkzeug's 413 included, and an
unhandled exception as a 500. A database that cannot be reached (a restart, a failover; SQLite's
write lock held past the busy timeout) is a 503 with Retry-After, whether the view's queries or
the request's commit met it: the client tries again, an API call with its Idempotency-Key."""
from __future__ import annotations

import logging

from flask import Flask, Response, current_app, jsonify, render_template, request
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import OperationalError
from werkzeug.exceptions import HTTPException

from web.staff_login import is_staff

log = logging.getLogger(__name__)
API_PREFIX = "/api/"
RETRY_AFTER_SECONDS = 5  # a PostgreSQL restart takes a second or two; a failover a little longer


class PageError(HTTPException):
    """An HTTP error with words of its own: a message for the error page (or a template of its
    own with its context) and one for the API."""

    def __init__(self, code: int, *, message: str | None = None, api_message: str | None = None,
                 template: str | None = None, **context):
        super().__init__()
        self.code, self.message, self.api_message = code, message, api_message
        self.template, self.context = template, context


def _message(code: int) -> str:
    messages = {
        400: _("The request could not be read. Please go back and try again."),
        403: _("You may not open this page."),
        404: _("This page does not exist. Please check the address."),
        405: _("This page cannot be used that way."),
        413: _("What you sent is too large: each material may be at most %(each)s MB, and one upload at most "
               "%(total)s MB in all. Please go back and send fewer or smaller files at a time.",
               each=_megabytes(current_app.config["MATERIAL_MAX_BYTES"]),
               total=_megabytes(current_app.config["MAX_CONTENT_LENGTH"])),
        429: _("Too many requests in a short time. Please wait a minute and try again."),
    }
    return messages.get(code, _("Something went wrong on our side. Nothing was saved; please try again."))


def _megabytes(size: int) -> str:
    return f"{size / 1024 / 1024:g}"


# What the API says, in English like the rest of its messages.
_API_MESSAGES = {
    400: "the request could not be read",
    401: "a valid channel API key is required (Authorization: Bearer ...)",
    403: "not allowed",
    404: "no such resource",
    405: "method not allowed",
    413: "the request body is too large",
    429: "too many requests",
}


def _api_answer(error: HTTPException):
    message = getattr(error, "api_message", None) or _API_MESSAGES.get(error.code, "internal server error")
    body = {"error": message}
    if error.code == 429:
        body["limit"] = str(error.description)
    return jsonify(body), error.code


def handle(error: HTTPException, *, staff_layout: bool = True) -> Response:
    response = current_app.make_response(_answer(error, staff_layout=staff_layout))
    if getattr(error, "valid_methods", None):  # a 405 names the methods the address takes (RFC 9110)
        response.headers["Allow"] = ", ".join(error.valid_methods)
    return response


def _answer(error: HTTPException, *, staff_layout: bool):
    if request.path.startswith(API_PREFIX):
        return _api_answer(error)
    if getattr(error, "template", None):
        return render_template(error.template, **error.context), error.code
    staff_layout = staff_layout and request.path.startswith("/console") and is_staff()
    layout = "console/base.html" if staff_layout else "base.html"
    return render_template("errors/page.html", layout=layout, code=error.code,
                           message=getattr(error, "message", None) or _message(error.code)), error.code


def form_expired(error: CSRFError):
    """A form sent without its page's CSRF token: open longer than the token lives, or sent from
    another site. Nothing was done; going back finds what was typed still in the form."""
    log.warning("a form without a valid CSRF token on %s: %s", request.path, error.description)
    return handle(PageError(400, message=_(
        "This form was open too long, or was sent from another site, so nothing was done. Please go back, "
        "reload the page and send the form again.")))


def database_unreachable(error: OperationalError) -> Response:
    """503 with Retry-After. The public layout: a staff member's console layout would ask the
    database who is signed in."""
    log.error("the database cannot be reached: %s", error)
    unavailable = PageError(
        503, message=_("The service is briefly unavailable. Please try again in a moment."),
        api_message="the service is briefly unavailable; try again (with the same Idempotency-Key)")
    response = handle(unavailable, staff_layout=False)
    response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


def init_app(app: Flask) -> None:
    # Flask hands an unhandled exception to this handler too, as an InternalServerError, once logged.
    app.register_error_handler(HTTPException, handle)
    app.register_error_handler(CSRFError, form_expired)
    # The view's queries; web.edge answers the same when the request's commit fails.
    app.register_error_handler(OperationalError, database_unreachable)
