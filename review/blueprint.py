"""URL table of the review console."""
from flask import Blueprint

from review import views

bp = Blueprint("review", __name__, url_prefix="/console")

_RULES = [
    ("/", views.home, ["GET"]),
    ("/queues/<name>", views.queue, ["GET"]),
    ("/search", views.search, ["GET"]),
    ("/orders/<number>", views.order_page, ["GET"]),
    ("/orders/<number>/materials/<int:material_id>", views.material_image, ["GET"]),
    ("/orders/<number>/claim", views.claim, ["POST"]),
    ("/orders/<number>/release", views.release, ["POST"]),
    ("/orders/<number>/reassign", views.reassign, ["POST"]),
    ("/orders/<number>/verify", views.verify_identity, ["POST"]),
    ("/orders/<number>/decide", views.decide, ["POST"]),
    ("/orders/<number>/reveal", views.reveal, ["POST"]),
    ("/orders/<number>/audit", views.audit_log, ["GET"]),
]

for rule, view, methods in _RULES:
    bp.add_url_rule(rule, view_func=view, methods=methods)
