"""The application factory."""
from __future__ import annotations

import base64

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from backoffice import config as app_config
from backoffice.config import ROOT


def create_app(test_config: dict | None = None) -> Flask:
    app = Flask(
        "backoffice",
        root_path=str(ROOT),
        template_folder="templates",
        static_folder="static",
        instance_path=str(app_config.INSTANCE),
    )
    app.config.from_mapping(app_config.load(test_config))
    if proxies := app.config["TRUSTED_PROXIES"]:
        # Behind N reverse proxies every visitor would share the proxy's address (rate limits,
        # the SMS codes per IP): take the client's from the headers the proxies set.
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies, x_host=proxies)

    import billing
    import documents
    import finance
    import fulfillment
    import issuance
    import notifications
    import review
    import station
    from models import audit_chain, sealed

    sealed.configure(
        base64.b64decode(app.config["FIELD_ENCRYPTION_KEY"]),
        base64.b64decode(app.config["LOOKUP_KEY"]),
    )

    from backoffice import admin, cli
    from web import (
        database,
        edge,
        error_pages,
        extensions,
        guards,
        i18n,
        request_guard,
        security,
        services,
        staff_login,
    )

    request_guard.init_app(app)  # before any other hook reads the address
    error_pages.init_app(app)
    extensions.db.init_app(app)
    with app.app_context():
        audit_chain.configure(extensions.db.engine, base64.b64decode(app.config["AUDIT_SEAL_KEY"]),
                              app.config["AUDIT_ANCHOR_PATH"])
    database.init_app(app)
    extensions.migrate.init_app(app, extensions.db, directory=str(ROOT / "migrations"))
    extensions.csrf.init_app(app)
    extensions.limiter.init_app(app)
    i18n.init_app(app)
    staff_login.init_app(app)
    guards.init_app(app)
    security.init_app(app)
    edge.init_app(app)
    cli.init_app(app)
    notifications.init_app(app)
    documents.init_app(app)
    billing.init_app(app)
    issuance.init_app(app)
    review.init_app(app)
    finance.init_app(app)
    station.init_app(app)
    fulfillment.init_app(app)
    # Every package has registered its services: refuse a bad choice now, not at the first payment.
    services.check(app, production=app.config["APP_ENV"] == "production")

    from backoffice.health import bp as health_bp
    from public.blueprint import api_bp, public_bp
    from public.helper_api import bp as helper_api_bp
    from public.payment_views import payment_notification
    from web.auth import bp as auth_bp

    app.register_blueprint(health_bp)
    app.register_blueprint(public_bp)
    app.register_blueprint(api_bp)
    app.register_blueprint(helper_api_bp)
    app.register_blueprint(auth_bp)
    admin.init_app(app)
    extensions.csrf.exempt(api_bp)  # the API authenticates each call by its channel key
    extensions.csrf.exempt(helper_api_bp)  # the key helper's credential, never a cookie
    extensions.csrf.exempt(payment_notification)  # the provider signs its notifications
    if app.config["APP_ENV"] != "production":  # scripts and load tests use them against `make run` too
        from public.testing import bp as testing_bp
        from public.testing import load_test_bp

        app.register_blueprint(testing_bp)
        if app.config["LOAD_TEST"]:
            app.register_blueprint(load_test_bp)
    return app
