"""URL table of the finance console."""
from flask import Blueprint

from finance import views

finance_bp = Blueprint("finance", __name__, url_prefix="/console/finance")

_RULES = [
    ("/", views.home, ["GET"]),
    ("/payments", views.payments, ["GET"]),
    ("/notifications", views.notifications, ["GET"]),
    ("/refunds", views.refund_list, ["GET"]),
    ("/refunds/<int:refund_id>/confirm", views.confirm_refund, ["POST"]),
    ("/refunds/<int:refund_id>/send", views.send_refund, ["POST"]),
    ("/refunds/<int:refund_id>/paid-back", views.record_paid_back, ["POST"]),
    ("/invoices", views.invoice_list, ["GET"]),
    ("/invoices/<int:invoice_id>/pdf", views.invoice_pdf, ["GET"]),
    ("/invoices/<int:invoice_id>/void", views.void_invoice, ["POST"]),
    ("/invoices/<int:invoice_id>/red", views.red_invoice, ["POST"]),
    ("/orders/<number>/invoice", views.issue_invoice_again, ["POST"]),
    ("/reconciliation", views.reconciliation, ["GET"]),
    ("/transfers", views.transfer_list, ["GET"]),
    ("/transfers/<number>", views.transfer_page, ["GET"]),
    ("/transfers/<number>/match", views.match_transfer, ["POST"]),
    ("/transfers/<number>/refuse", views.refuse_transfer_proof, ["POST"]),
    ("/transfers/<number>/proof", views.transfer_proof, ["GET"]),
]

for rule, view, methods in _RULES:
    finance_bp.add_url_rule(rule, view_func=view, methods=methods)

finance_bp.context_processor(views.template_helpers)
