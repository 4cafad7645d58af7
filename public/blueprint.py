"""URL table of the applicant side: the public pages and the channels' JSON API."""
from flask import Blueprint

from billing import transfers
from models.business import SUPERSEDE_CERTIFICATE
from public import (
    api,
    ca,
    info_change_views,
    key_views,
    payment_views,
    payments,
    personal_views,
    printables,
    query_views,
    reminder_views,
    renewal_post_views,
    renewal_views,
    replacement_views,
    revocation_views,
    sample_views,
    supersede_work,
    unlock_views,
    views,
)
from web import jobs

public_bp = Blueprint("public", __name__)
api_bp = Blueprint("api", __name__, url_prefix="/api")

_PUBLIC = [
    ("/", views.index, ["GET"]),
    ("/c/<channel_code>/", views.channel_home, ["GET"]),
    ("/c/<channel_code>/services/<slug>", views.service_page, ["GET"]),
    ("/c/<channel_code>/apply", views.new_application, ["GET", "POST"]),
    ("/apply/<number>", views.confirm_page, ["GET"]),
    ("/apply/<number>/edit", views.edit_application, ["GET", "POST"]),
    ("/c/<channel_code>/personal/apply", personal_views.new_personal_application, ["GET", "POST"]),
    ("/apply/<number>/personal/edit", personal_views.edit_personal_application, ["GET", "POST"]),
    ("/apply/<number>/materials", views.materials_page, ["GET", "POST"]),
    ("/apply/<number>/materials/done", views.materials_done, ["POST"]),
    ("/apply/<number>/materials/<int:material_id>", views.material_image, ["GET"]),
    ("/apply/<number>/forms/<kind>.pdf", sample_views.printable_form, ["GET"]),
    ("/samples/<kind>.png", sample_views.sample_picture, ["GET"]),
    ("/apply/<number>/signature", views.signature_page, ["GET", "POST"]),
    ("/apply/<number>/signature/code", views.signature_code, ["POST"]),
    ("/apply/<number>/done", views.done_page, ["GET"]),
    ("/apply/<number>/more/<token>", views.more_materials, ["GET", "POST"]),
    ("/apply/<number>/payment-proof", replacement_views.payment_proof, ["GET", "POST"]),
    ("/apply/<number>/pay", payment_views.payment_page, ["GET"]),
    ("/apply/<number>/pay/status", payment_views.payment_status, ["GET"]),
    ("/apply/<number>/invoices/<int:invoice_id>", payment_views.invoice_pdf, ["GET"]),
    ("/pay/notify", payment_views.payment_notification, ["POST"]),
    ("/captcha.png", views.captcha_image, ["GET"]),
    ("/regions.json", views.regions_json, ["GET"]),
    ("/legal/<document>", views.legal_document, ["GET"]),
    ("/reminders/stop/<token>", reminder_views.stop_reminders, ["GET", "POST"]),
    ("/reminders/stop/<token>/resume", reminder_views.resume_reminders, ["POST"]),
]
_API = [
    ("/openapi.json", api.openapi_document, ["GET"]),
    ("/v1/catalogue", api.catalogue_listing, ["GET"]),
    ("/v1/applications", api.create_application, ["POST"]),
    ("/v1/applications/<number>", api.application_status, ["GET"]),
    ("/v1/applications/<number>/materials/<kind>", api.upload_material, ["PUT"]),
    ("/v1/applications/<number>/signature-code", api.send_signature_code, ["POST"]),
    ("/v1/applications/<number>/signature", api.confirm_signature, ["POST"]),
    ("/v1/applications/<number>/payment", api.payment, ["GET"]),
]
_QUERY = [
    ("/query", query_views.order_query, ["GET", "POST"]),
    ("/query/verify", query_views.query_verify, ["GET", "POST"]),
    ("/query/results", query_views.query_results, ["GET"]),
    ("/query/invoices/<int:invoice_id>", query_views.query_invoice, ["GET"]),
    ("/query/orders/<number>/continue", query_views.query_continue, ["POST"]),
    ("/replacement", replacement_views.replacement_orders, ["GET"]),
    ("/replacement/<number>", replacement_views.replacement_form, ["GET", "POST"]),
    ("/replacement/orders/<number>/edit", replacement_views.replacement_edit, ["GET", "POST"]),
]
_KEY = [
    ("/c/<channel_code>/renewal", renewal_views.renewal_start, ["GET"]),
    ("/help/key-helper", key_views.key_helper_help, ["GET"]),
    ("/key/<public_id>", key_views.key_page, ["GET"]),
    ("/key/<public_id>/status", key_views.key_status, ["GET"]),
    ("/key/<public_id>/code", key_views.key_code, ["POST"]),
    ("/key/<public_id>/retry", key_views.key_retry, ["POST"]),
    ("/renewal/<public_id>/form", renewal_views.renewal_form, ["GET", "POST"]),
    ("/renewal/<public_id>/confirm", renewal_views.renewal_confirm, ["GET", "POST"]),
    ("/renewal/orders/<number>", renewal_post_views.renewal_choice, ["GET"]),
    ("/renewal/orders/<number>/form", renewal_post_views.renewal_post_form, ["GET", "POST"]),
    ("/renewal/orders/<number>/confirm", renewal_post_views.renewal_post_confirm, ["GET", "POST"]),
    ("/c/<channel_code>/unlock", unlock_views.unlock_start, ["GET"]),
    ("/unlock/<public_id>", unlock_views.unlock_page, ["GET", "POST"]),
    ("/unlock/<public_id>/code", unlock_views.unlock_code, ["GET", "POST"]),
    ("/unlock/<public_id>/code/again", unlock_views.unlock_code_again, ["POST"]),
    ("/unlock/<public_id>/done", unlock_views.unlock_done, ["GET"]),
    ("/apply/<number>/key", key_views.order_key_page, ["POST"]),
]
_CHANGE = [
    ("/c/<channel_code>/change", info_change_views.change_start, ["GET"]),
    ("/c/<channel_code>/change/key", info_change_views.change_by_key, ["GET"]),
    ("/c/<channel_code>/change/code", info_change_views.change_code, ["POST"]),
    ("/c/<channel_code>/change/personal-code", info_change_views.change_personal_code, ["POST"]),
    ("/c/<channel_code>/change/verify", info_change_views.change_verify, ["GET", "POST"]),
    ("/change/certificates", info_change_views.change_certificates, ["GET"]),
    ("/change/key/<public_id>/form", info_change_views.change_form, ["GET", "POST"]),
    ("/change/key/<public_id>/confirm", info_change_views.change_confirm, ["GET", "POST"]),
    ("/change/certificates/<serial>/form", info_change_views.change_form, ["GET", "POST"]),
    ("/change/certificates/<serial>/confirm", info_change_views.change_confirm, ["GET", "POST"]),
]
_REVOCATION = [
    ("/revocation", revocation_views.revocation_certificates, ["GET"]),
    ("/revocation/<serial>", revocation_views.revocation_form, ["GET", "POST"]),
    ("/revocation/orders/<number>", revocation_views.revocation_confirm, ["GET"]),
]

for rule, view, methods in _PUBLIC:
    public_bp.add_url_rule(rule, view_func=view, methods=methods)
for rule, view, methods in _API:
    api_bp.add_url_rule(rule, view_func=view, methods=methods)
for rule, view, methods in _QUERY + _REVOCATION + _KEY + _CHANGE:
    public_bp.add_url_rule(rule, view_func=view, methods=methods)
# Every page on the public layout names the CA and its service phone, error pages included.
public_bp.app_context_processor(ca.template_values)
public_bp.add_app_template_test(printables.printable, "printable")  # a material with a form to print
# A transfer finance matched puts its order in the review queue: review's operation, called from here.
public_bp.record_once(lambda state: jobs.register(state.app, transfers.MATCHED, payments.enter_review))
public_bp.record_once(lambda state: jobs.register(state.app, SUPERSEDE_CERTIFICATE, supersede_work.supersede_for_order,
                                                  calls_out=True))
