"""The key programming station: fulfillment staff's pages, and the API its agents (agent/) call."""
from __future__ import annotations

from documents import regions


def init_app(app) -> None:
    from station.api import bp as api_bp
    from station.api import notify_after_commit
    from station.blueprint import bp
    from web import edge
    from web.extensions import csrf

    app.register_blueprint(bp)
    app.register_blueprint(api_bp)
    csrf.exempt(api_bp)  # an agent signs in with its station credential; no cookie is involved
    edge.on_commit(app, notify_after_commit)
    app.add_template_global(region_name, "region")


def region_name(code: str | None) -> str:
    """A province's or city's name from its code (the mailing address on the job pages)."""
    return (regions.province_name(code) or regions.city_name(code) or code) if code else ""
