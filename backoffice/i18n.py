"""Simplified Chinese by default; English on request (?lang=en), remembered in the session."""
from flask import Flask, current_app, has_request_context, request, session

from backoffice.extensions import babel
from public.labels import request_labels


def select_locale() -> str:
    if not has_request_context():  # CLI commands and app set-up speak the default language
        return current_app.config["BABEL_DEFAULT_LOCALE"]
    wanted = request.args.get("lang")
    if wanted in current_app.config["LANGUAGES"]:
        session["lang"] = wanted
    return session.get("lang", current_app.config["BABEL_DEFAULT_LOCALE"])


def init_app(app: Flask) -> None:
    babel.init_app(
        app,
        locale_selector=select_locale,
        default_translation_directories=str(app.root_path + "/translations"),
    )

    @app.context_processor
    def _language():
        return {"current_locale": select_locale(), "label": request_labels()}
