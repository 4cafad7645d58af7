"""The OpenAPI 3 document of the channel API, derived from the one application form."""
from __future__ import annotations

from flask_babel import force_locale
from wtforms import BooleanField, RadioField, SelectField
from wtforms.validators import Length

from documents.materials import ACCEPTED_FORMATS
from models import BusinessType, CertKind, MaterialKind, OrderStatus
from public.forms import (
    AGENT_IDENTITY_METHODS,
    ID_TYPES,
    IDENTITY_METHODS,
    MEDIA_TYPES,
    OWN_KEY,
    ApplicationForm,
)

# The media types a material may be uploaded as: the formats Pillow decodes for us.
IMAGE_TYPES = sorted({"JPEG": "image/jpeg", "PNG": "image/png", "BMP": "image/bmp"}[f] for f in ACCEPTED_FORMATS)
# An order number (models.order_number): the business day, U or P, the day's sequence.
ORDER_NUMBER = {"type": "string", "pattern": f"^[0-9]{{8}}[{''.join(k.order_letter for k in CertKind)}][0-9]{{6,}}$",
                "example": "20261125U000123"}
# Fields whose choices depend on data (catalogue, regions) are documented as strings.
STATIC_CHOICES = {
    "identity_method": IDENTITY_METHODS,
    "agent_identity_method": AGENT_IDENTITY_METHODS,
    "legal_rep_id_type": ID_TYPES,
    "agent_id_type": ID_TYPES,
    "media_type": MEDIA_TYPES,
}

APPLICATION_EXAMPLE = {
    "identity_method": "legal_rep_phone",
    "org_name": "郑州信源测试科技有限公司",
    "org_department": "信息部",
    "credit_code": "91350100M000100Y43",
    "region_province": "410000",
    "region_city": "410100",
    "org_phone": "0371-65501234",
    "legal_rep_name": "张伟",
    "legal_rep_phone": "13800138000",
    "legal_rep_id_type": "resident_id",
    "legal_rep_id_number": "11010519491231002X",
    "legal_rep_bank_card": "",
    "product": "UNIT-1Y",
    "media_type": "card",
    "media_model": "UKEY-RS",
    "account_number": "6222021234567890123",
    "bank_name": "中国工商银行郑州分行",
    "bank_province": "410000",
    "bank_city": "410100",
    "invoice_taxpayer_id": "91350100M000100Y43",
    "invoice_address_phone": "郑州市金水区花园路1号 0371-65501234",
    "invoice_bank_account": "中国工商银行郑州分行 6222021234567890123",
    "agent_identity_method": "phone",
    "agent_name": "李娜",
    "agent_phone": "13912345678",
    "agent_id_type": "resident_id",
    "agent_id_number": "110105199003071239",
    "agent_bank_account": "",
    "agent_email": "lina@example.com",
    "mailing_province": "410000",
    "mailing_city": "410100",
    "mailing_address": "郑州市金水区花园路1号 信息部",
    "consent": True,
}


def _field_schema(field) -> dict:
    if isinstance(field, BooleanField):
        return {"type": "boolean", "enum": [True], "description": str(field.label.text) + " (JSON true only)"}
    schema: dict = {"type": "string", "description": str(field.label.text)}
    if field.name in STATIC_CHOICES:
        schema["enum"] = [value for value, _ in STATIC_CHOICES[field.name]]
    elif field.name == "product":
        schema["description"] += " (a product code from GET /api/v1/catalogue)"
    elif field.name == "media_model":
        schema["description"] += f' (a key model code from GET /api/v1/catalogue, or "{OWN_KEY}": own key)'
    elif isinstance(field, SelectField | RadioField):
        schema["description"] += " (a GB/T 2260 code from /regions.json)"
    else:
        schema["nullable"] = True  # null is taken as empty
    for validator in field.validators:
        if isinstance(validator, Length) and validator.max > 0:
            schema["maxLength"] = validator.max
    return schema


def application_schema() -> dict:
    with force_locale("en"):
        form = ApplicationForm(formdata=None, meta={"csrf": False})
        properties = {f.name: _field_schema(f) for f in form}
        required = [f.name for f in form if f.flags.required]
    return {"type": "object", "properties": properties, "required": required,
            "additionalProperties": False}


def _status_schema() -> dict:
    properties = {
        "number": ORDER_NUMBER,
        "status": {"type": "string", "enum": [s.value for s in OrderStatus]},
        "business_type": {"type": "string", "enum": [b.value for b in BusinessType]},
        "price_cents": {"type": "integer"},
        "created_at": {"type": "string", "format": "date-time"},
        "materials": {"type": "object", "additionalProperties": {"type": "boolean"},
                      "description": "each material the order needs: uploaded or not"},
    }
    return {"type": "object", "required": list(properties), "properties": properties}


def _signature_code_schema() -> dict:
    return {"type": "object", "required": ["sent_to", "consent_text"], "properties": {
        "sent_to": {"type": "string", "description": "the agent's phone, masked"},
        "consent_text": {"type": "string", "description": "the signature consent text: show it to the agent, "
                                                          "who agrees to it by entering the code"}}}


def _catalogue_schema() -> dict:
    text = {"type": "string"}
    return {"type": "object", "properties": {
        "products": {"type": "array", "items": {"type": "object", "properties": {
            "code": text, "name": text, "name_en": text, "cert_kind": {"type": "string", "enum": ["unit", "personal"]},
            "validity_months": {"type": "integer"},
            "prices_cents": {"type": "object", "additionalProperties": {"type": "integer"},
                             "description": "what each business type costs through this channel"}}}},
        "media_models": {"type": "array", "items": {"type": "object", "properties": {
            "code": text, "name": text, "name_en": text, "price_cents": {"type": "integer"}}}},
    }}


def _errors_schema() -> dict:
    return {"type": "object", "required": ["errors"], "properties": {"errors": {"type": "array", "items": {
        "type": "object",
        "properties": {"field": {"type": "string", "nullable": True}, "message": {"type": "string"}},
    }}}}


def _error_schema() -> dict:
    return {"type": "object", "required": ["error"], "properties": {
        "error": {"type": "string"},
        "missing": {"type": "array", "items": {"type": "string"}, "description": "the materials still missing"},
        "order_status": {"type": "string"},
        "limit": {"type": "string", "description": "the rate limit that was reached"},
    }}


def _json(schema_ref: str, description: str) -> dict:
    return {"description": description,
            "content": {"application/json": {"schema": {"$ref": schema_ref}}}}


def _error(description: str) -> dict:
    return _json("#/components/schemas/Error", description)


# Every call may meet these.
COMMON_ERRORS = {
    "400": _error("the path or query string holds control or invisible characters"),
    "401": _error("no or bad API key"),
    "429": _error("too many requests or SMS codes; wait and try again"),
    "503": _error("the service is briefly unavailable (its database restarting): try again after the "
                  "Retry-After header's seconds, a new application with the same Idempotency-Key"),
}
IDEMPOTENCY_KEY = {
    "name": "Idempotency-Key", "in": "header", "required": False,
    "schema": {"type": "string", "minLength": 1, "maxLength": 255},
    "description": "Repeating a call with the same key within 24 hours answers the first answer again "
                   "(status 200) instead of acting twice; the same key with another request is refused (422).",
}


def _operation(summary: str, responses: dict, **more) -> dict:
    return {"summary": summary, "responses": {**COMMON_ERRORS, **responses}, **more}


def document() -> dict:
    number = {"name": "number", "in": "path", "required": True, "schema": ORDER_NUMBER}
    status = _json("#/components/schemas/ApplicationStatus", "the order")
    invalid = _json("#/components/schemas/FieldErrors", "invalid input, one entry per field")
    not_found = _error("not this channel's order")
    too_large = _error("the body is too large")
    return {
        "openapi": "3.0.3",
        "info": {"title": "Certificate registration desk: channel API", "version": "1.1.0",
                 "description": "New applications (新办) from integrated channels. Every error answers JSON: "
                                "{errors: [{field, message}]} for invalid input, {error} otherwise."},
        "components": {
            "securitySchemes": {"channelKey": {"type": "http", "scheme": "bearer",
                                               "description": "the channel's API key"}},
            "schemas": {"Application": application_schema(),
                        "ApplicationStatus": _status_schema(),
                        "Catalogue": _catalogue_schema(),
                        "SignatureCodeSent": _signature_code_schema(),
                        "FieldErrors": _errors_schema(),
                        "Error": _error_schema()},
        },
        "security": [{"channelKey": []}],
        "paths": {
            "/api/v1/catalogue": {"get": _operation(
                "The product and key-model codes an application takes, with this channel's prices",
                {"200": _json("#/components/schemas/Catalogue", "the catalogue")})},
            "/api/v1/applications": {"post": _operation(
                "Create a new application; the order then awaits its materials",
                {"201": status, "200": _json("#/components/schemas/ApplicationStatus",
                                             "the order made by the first call with this Idempotency-Key"),
                 "413": too_large, "422": invalid},
                parameters=[IDEMPOTENCY_KEY],
                requestBody={"required": True, "content": {"application/json": {
                    "schema": {"$ref": "#/components/schemas/Application"},
                    "example": APPLICATION_EXAMPLE}}})},
            "/api/v1/applications/{number}": {"get": _operation(
                "Read the status of an order", {"200": status, "404": not_found}, parameters=[number])},
            "/api/v1/applications/{number}/materials/{kind}": {"put": _operation(
                "Upload one material (a JPEG, PNG or BMP image of at most 1.5 MB and 25 megapixels) as the body",
                {"200": status, "404": _error("not this channel's order, or no such material kind"),
                 "409": _error("the order can no longer be changed"),
                 "413": too_large, "422": invalid,
                 "503": _error("the document store is unavailable; nothing was kept, try again")},
                parameters=[number, {"name": "kind", "in": "path", "required": True,
                                     "schema": {"type": "string", "enum": [k.value for k in MaterialKind]}}],
                requestBody={"required": True, "content": {
                    media: {"schema": {"type": "string", "format": "binary"}} for media in IMAGE_TYPES}})},
            "/api/v1/applications/{number}/signature-code": {"post": _operation(
                "Send the signature SMS code to the agent (all materials needed); codes are counted per "
                "phone and against the channel's hourly budget",
                {"202": _json("#/components/schemas/SignatureCodeSent", "code sent"),
                 "200": _json("#/components/schemas/SignatureCodeSent",
                              "the answer to the first call with this Idempotency-Key"),
                 "404": not_found, "409": _error("materials missing or the order is not waiting for a signature"),
                 "413": too_large, "422": invalid},
                parameters=[number, IDEMPOTENCY_KEY])},
            "/api/v1/applications/{number}/signature": {"post": _operation(
                "Confirm the signature with the SMS code and the agent's consent to the signature text "
                "(shown to the agent); the order then awaits payment",
                {"200": status, "404": not_found, "409": _error("the order is not waiting for a signature"),
                 "413": too_large, "422": invalid},
                parameters=[number, IDEMPOTENCY_KEY],
                requestBody={"required": True, "content": {"application/json": {"schema": {
                    "type": "object", "required": ["sms_code", "consent"], "properties": {
                        "sms_code": {"type": "string"},
                        "consent": {"type": "boolean", "enum": [True],
                                    "description": "JSON true: the agent agrees to the signature consent text"}}},
                    "example": {"sms_code": "123456", "consent": True}}}})},
            "/api/v1/applications/{number}/payment": {"get": _operation(
                "The QR code content to pay the order (awaiting payment only); scanning it with Alipay pays "
                "the order, after which its status becomes paid",
                {"200": {"description": "the trade", "content": {"application/json": {"schema": {
                    "type": "object", "required": ["number", "amount_cents", "qr_code", "pay_before"], "properties": {
                        "number": ORDER_NUMBER, "amount_cents": {"type": "integer"},
                        "qr_code": {"type": "string"}, "pay_before": {"type": "string", "format": "date-time"}}}}}},
                 "404": not_found, "409": _error("not awaiting payment"),
                 "503": _error("the payment provider is unavailable; try again")},
                parameters=[number])},
        },
    }
