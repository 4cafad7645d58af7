"""URL table of the key programming station (pages under /console/station) and its agents' API."""
from flask import Blueprint

from station import return_views, shipping_views, stock_views, unlock_views, views

bp = Blueprint("station", __name__, url_prefix="/console/station")

_RULES = [
    ("/", views.home, ["GET"]),
    ("/next", views.claim_next, ["POST"]),
    ("/orders/<number>/claim", views.claim, ["POST"]),
    ("/jobs/<public_id>", views.job_page, ["GET"]),
    ("/jobs/<public_id>/progress", views.progress, ["GET"]),
    ("/jobs/<public_id>/start", views.start, ["POST"]),
    ("/jobs/<public_id>/resume", views.resume, ["POST"]),
    ("/jobs/<public_id>/wipe", views.wipe, ["POST"]),
    ("/jobs/<public_id>/release", views.release, ["POST"]),
    ("/keys", views.keys, ["GET"]),
    ("/stock", stock_views.stock_page, ["GET"]),
    ("/stock/keys", stock_views.receive_keys, ["POST"]),
    ("/stock/envelopes", stock_views.receive_envelopes, ["POST"]),
    ("/stock/write-off", stock_views.write_off, ["POST"]),
    ("/returns", return_views.returns_page, ["GET"]),
    ("/returns", return_views.receive_return, ["POST"]),
    ("/unlocks", unlock_views.unlocks_page, ["GET"]),
    ("/unlocks", unlock_views.receive_unlock, ["POST"]),
    ("/shipping", shipping_views.shipping_page, ["GET"]),
    ("/shipping/labels", shipping_views.day_labels, ["GET"]),
    ("/shipping/handover", shipping_views.handover, ["GET"]),
    ("/orders/<number>/card", shipping_views.print_card, ["POST"]),
    ("/orders/<number>/ship", shipping_views.ship, ["POST"]),
    ("/shipments/<int:shipment_id>/label", shipping_views.label, ["GET"]),
    ("/shipments/<int:shipment_id>/delivered", shipping_views.delivered, ["POST"]),
    ("/shipments/<int:shipment_id>/returned", shipping_views.returned, ["POST"]),
    ("/stations", views.stations, ["GET"]),
    ("/stations/new", views.add_station, ["POST"]),
    ("/stations/<int:station_id>/credential", views.issue_credential, ["POST"]),
    ("/stations/<int:station_id>/revoke", views.revoke_credential, ["POST"]),
]

for rule, view, methods in _RULES:
    bp.add_url_rule(rule, view_func=view, methods=methods)
