"""URL table of the review console."""
from flask import Blueprint

from review import (
    certificate_views,
    dashboard_views,
    note_views,
    outbox_views,
    overdue_views,
    reminder_views,
    report_views,
    reviewer_views,
    views,
)

bp = Blueprint("review", __name__, url_prefix="/console")

_RULES = [
    ("/", views.home, ["GET"]),
    ("/dashboard", dashboard_views.dashboard, ["GET"]),
    ("/reports/<name>", report_views.report_page, ["GET"]),
    ("/reports/<name>/chart.svg", report_views.report_chart, ["GET"]),
    ("/queues/<name>", views.queue, ["GET"]),
    ("/queues/<name>/next", views.next_claim, ["POST"]),
    ("/overdue", overdue_views.overdue, ["GET"]),
    ("/search", views.search, ["GET"]),
    ("/messages", outbox_views.messages, ["GET"]),
    ("/messages.csv", outbox_views.messages_csv, ["GET"]),
    ("/messages/<outbox>/<int:message_id>/resend", outbox_views.resend_message, ["POST"]),
    ("/reviewers", reviewer_views.reviewers, ["GET"]),
    ("/reviewers/<int:staff_id>/absent", reviewer_views.mark_absent, ["POST"]),
    ("/reviewers/<int:staff_id>/back", reviewer_views.mark_back, ["POST"]),
    ("/orders/<number>", views.order_page, ["GET"]),
    ("/orders/<number>/materials/<int:material_id>", views.material_image, ["GET"]),
    ("/orders/<number>/claim", views.claim, ["POST"]),
    ("/orders/<number>/release", views.release, ["POST"]),
    ("/orders/<number>/reassign", views.reassign, ["POST"]),
    ("/orders/<number>/verify", views.verify_identity, ["POST"]),
    ("/orders/<number>/override", views.override_risk, ["POST"]),
    ("/orders/<number>/decide", views.decide, ["POST"]),
    ("/orders/<number>/reveal", views.reveal, ["POST"]),
    ("/orders/<number>/audit", views.audit_log, ["GET"]),
    ("/orders/<number>/notes", note_views.add_note, ["POST"]),
    ("/orders/<number>/reminders", reminder_views.set_reminders, ["POST"]),
    ("/certificates", certificate_views.certificate_register, ["GET"]),
    ("/ca", certificate_views.ca_status, ["GET"]),
    ("/certificates/<serial>", certificate_views.certificate_page, ["GET"]),
    ("/certificates/<serial>/revocation", certificate_views.request_revocation, ["POST"]),
    ("/certificates/<serial>/revocation/withdraw", certificate_views.withdraw_revocation, ["POST"]),
    ("/certificates/<serial>/revocation/confirm", certificate_views.confirm_revocation, ["POST"]),
]

for rule, view, methods in _RULES:
    bp.add_url_rule(rule, view_func=view, methods=methods)
