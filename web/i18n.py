"""Simplified Chinese by default; English on request (?lang=en), remembered in the session."""
from flask import Flask, current_app, has_request_context, request, session

from web.extensions import babel
from web.labels import billing_label, catalogue_name, delivery_label, message_label, request_labels


def remember_language() -> None:
    """`?lang=` is kept in the session on every request, so it survives a redirect (`/?lang=en`
    goes on to the form in English) as well as a page that renders nothing."""
    wanted = request.args.get("lang")
    if wanted in current_app.config["LANGUAGES"]:
        session["lang"] = wanted


def select_locale() -> str:
    if not has_request_context():  # CLI commands and app set-up speak the default language
        return current_app.config["BABEL_DEFAULT_LOCALE"]
    remember_language()
    return session.get("lang", current_app.config["BABEL_DEFAULT_LOCALE"])


def init_app(app: Flask) -> None:
    app.before_request(remember_language)
    # Globals: the finance and message macros use them without the page's context.
    for name in (billing_label, message_label, delivery_label):
        app.add_template_global(name)
    babel.init_app(
        app,
        locale_selector=select_locale,
        default_translation_directories=str(app.root_path + "/translations"),
    )

    @app.context_processor
    def _language():
        return {"current_locale": select_locale(), "label": request_labels(), "catalogue_name": catalogue_name}
