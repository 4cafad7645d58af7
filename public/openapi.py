"""The OpenAPI 3 document of the channel API, derived from the one application form."""
from __future__ import annotations

from flask_babel import force_locale
from wtforms import BooleanField, RadioField, SelectField
from wtforms.validators import InputRequired, Length

from models import MaterialKind
from public.forms import (
    AGENT_IDENTITY_METHODS,
    ID_TYPES,
    IDENTITY_METHODS,
    MEDIA_TYPES,
    ApplicationForm,
)

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
        return {"type": "boolean", "description": str(field.label.text)}
    schema: dict = {"type": "string", "description": str(field.label.text)}
    if field.name in STATIC_CHOICES:
        schema["enum"] = [value for value, _ in STATIC_CHOICES[field.name]]
    elif isinstance(field, SelectField | RadioField):
        schema["description"] += " (a code; see the catalogue or /regions.json)"
    for validator in field.validators:
        if isinstance(validator, Length) and validator.max > 0:
            schema["maxLength"] = validator.max
    return schema


def application_schema() -> dict:
    with force_locale("en"):
        form = ApplicationForm(formdata=None, meta={"csrf": False})
        properties = {f.name: _field_schema(f) for f in form}
        required = [f.name for f in form
                    if any(isinstance(v, InputRequired) for v in f.validators)]
    return {"type": "object", "properties": properties, "required": required,
            "additionalProperties": False}


def _status_schema() -> dict:
    return {
        "type": "object",
        "properties": {
            "number": {"type": "string", "example": "20261125U000123"},
            "status": {"type": "string"},
            "business_type": {"type": "string"},
            "price_cents": {"type": "integer"},
            "created_at": {"type": "string", "format": "date-time"},
            "materials": {"type": "object", "additionalProperties": {"type": "boolean"}},
        },
    }


def _errors_schema() -> dict:
    return {"type": "object", "properties": {"errors": {"type": "array", "items": {
        "type": "object",
        "properties": {"field": {"type": "string", "nullable": True}, "message": {"type": "string"}},
    }}}}


def _json(schema_ref: str, description: str) -> dict:
    return {"description": description,
            "content": {"application/json": {"schema": {"$ref": schema_ref}}}}


def document() -> dict:
    number = {"name": "number", "in": "path", "required": True, "schema": {"type": "string"}}
    status = _json("#/components/schemas/ApplicationStatus", "the order")
    invalid = _json("#/components/schemas/FieldErrors", "invalid input, one entry per field")
    return {
        "openapi": "3.0.3",
        "info": {"title": "Certificate registration desk: channel API", "version": "1.0.0",
                 "description": "New applications (新办) from integrated channels."},
        "components": {
            "securitySchemes": {"channelKey": {"type": "http", "scheme": "bearer",
                                               "description": "the channel's API key"}},
            "schemas": {"Application": application_schema(),
                        "ApplicationStatus": _status_schema(),
                        "FieldErrors": _errors_schema()},
        },
        "security": [{"channelKey": []}],
        "paths": {
            "/api/v1/applications": {"post": {
                "summary": "Create a new application; the order then awaits its materials",
                "requestBody": {"required": True, "content": {"application/json": {
                    "schema": {"$ref": "#/components/schemas/Application"},
                    "example": APPLICATION_EXAMPLE}}},
                "responses": {"201": status, "401": {"description": "no or bad API key"},
                              "422": invalid},
            }},
            "/api/v1/applications/{number}": {"get": {
                "summary": "Read the status of an order", "parameters": [number],
                "responses": {"200": status, "404": {"description": "not this channel's order"}},
            }},
            "/api/v1/applications/{number}/materials/{kind}": {"put": {
                "summary": "Upload one material (JPEG, PNG or BMP, at most 1.5 MB) as the body",
                "parameters": [number, {"name": "kind", "in": "path", "required": True,
                                        "schema": {"type": "string",
                                                   "enum": [k.value for k in MaterialKind]}}],
                "requestBody": {"required": True, "content": {
                    "image/*": {"schema": {"type": "string", "format": "binary"}}}},
                "responses": {"200": status, "409": {"description": "order no longer editable"},
                              "422": invalid},
            }},
            "/api/v1/applications/{number}/signature-code": {"post": {
                "summary": "Send the signature SMS code to the agent (all materials needed)",
                "parameters": [number],
                "responses": {"202": {"description": "code sent"},
                              "409": {"description": "materials missing or wrong status"},
                              "429": {"description": "too many codes"}},
            }},
            "/api/v1/applications/{number}/signature": {"post": {
                "summary": "Confirm the signature with the SMS code; the order awaits payment",
                "parameters": [number],
                "requestBody": {"required": True, "content": {"application/json": {"schema": {
                    "type": "object", "required": ["sms_code"],
                    "properties": {"sms_code": {"type": "string"}}}}}},
                "responses": {"200": status, "422": invalid},
            }},
            "/api/v1/applications/{number}/payment": {"get": {
                "summary": "The QR code content to pay the order (awaiting payment only); scanning it "
                           "with Alipay pays the order, after which its status becomes paid",
                "parameters": [number],
                "responses": {"200": {"description": "the trade", "content": {"application/json": {"schema": {
                    "type": "object", "properties": {
                        "number": {"type": "string"}, "amount_cents": {"type": "integer"},
                        "qr_code": {"type": "string"}, "pay_before": {"type": "string", "format": "date-time"}}}}}},
                              "409": {"description": "not awaiting payment"},
                              "503": {"description": "the payment provider is unavailable; try again"}},
            }},
        },
    }
