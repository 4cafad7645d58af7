"""Demo catalogue, channels and staff for a development machine; safe to load twice."""
from __future__ import annotations

from collections.abc import Iterator

from sqlalchemy import select
from sqlalchemy.orm import Session

from models import (
    BusinessType,
    CertificateProfile,
    CertKind,
    Channel,
    ChannelProduct,
    Courier,
    MediaModel,
    Price,
    Product,
    Staff,
    StaffRole,
)
from models.base import utcnow
from web import staff_accounts

PRODUCTS = [("UNIT-1Y", "1年期单位证书", "1-year unit certificate", CertKind.UNIT),
            ("PERSON-1Y", "1年期个人证书", "1-year personal certificate", CertKind.PERSONAL)]
# Each product's profile: a signing certificate of the organisation or of the person (code, name, key
# types, key usages, extended key usages, policy). The policy OIDs are UUID-based (2.25, ITU-T X.667),
# unique without an enterprise arc of the CA's own; a real CA writes its CPS's OIDs here.
PROFILES = {"UNIT-1Y": ("UNIT-SIGN", "单位签名证书", "ec_p256,rsa2048", "digital_signature,non_repudiation",
                        "client_auth,email_protection", "2.25.307865096227464972629817039021988026819"),
            "PERSON-1Y": ("PERSON-SIGN", "个人签名证书", "ec_p256,rsa2048", "digital_signature,non_repudiation",
                          "client_auth,email_protection", "2.25.226510963393318712493605924441806170401")}
# Each business type has its own price; unlocking is free and has none.
BUSINESS_PRICES = {BusinessType.NEW: 30000, BusinessType.RENEWAL: 20000, BusinessType.REPLACEMENT: 25000,
                   BusinessType.INFO_CHANGE: 10000, BusinessType.REVOCATION: 0}
MEDIA = [("UKEY-RS", "UKEY-RS", 0), ("UKEY-G", "UKEY-G", 0)]
# Couriers by their tracking service's company codes (Kuaidi100's).
COURIERS = [("shunfeng", "顺丰速运", "SF Express"), ("ems", "中国邮政 EMS", "China Post EMS"),
            ("jd", "京东物流", "JD Logistics")]
CHANNELS = [
    ("direct", "数字证书网上营业厅", None),
    ("zzggzy", "郑州市公共资源交易中心", ("UNIT-1Y", 1)),  # a channel with its own price
]
STAFF = [
    ("reviewer", "审核员 王芳", StaffRole.REVIEWER),
    ("senior", "高级审核员 陈静", StaffRole.SENIOR_REVIEWER),
    ("station", "制证员 刘强", StaffRole.FULFILLMENT),
    ("finance", "财务 赵敏", StaffRole.FINANCE),
    ("admin", "管理员 孙磊", StaffRole.ADMIN),
]


def _get_or_add(session: Session, model, key: dict, **values):
    row = session.scalars(select(model).filter_by(**key)).first()
    if row is None:
        row = model(**key, **values)
        session.add(row)
        session.flush()
    return row


def load(session: Session) -> Iterator[str]:
    yield from load_catalogue(session)
    yield from load_staff(session)


def load_catalogue(session: Session) -> Iterator[str]:
    """Products, key models, prices and channels."""
    for code, name, name_en, kind in PRODUCTS:
        product = _get_or_add(session, Product, {"code": code}, name=name, name_en=name_en,
                              cert_kind=kind)
        if code in PROFILES and product.profile_id is None:
            profile_code, profile_name, key_types, key_usage, extended_key_usage, policy_oid = PROFILES[code]
            product.profile = _get_or_add(session, CertificateProfile, {"code": profile_code}, name=profile_name,
                                          key_types=key_types, key_usage=key_usage,
                                          extended_key_usage=extended_key_usage, policy_oid=policy_oid)
        for business_type, cents in BUSINESS_PRICES.items():
            _get_or_add(session, Price, {"product_id": product.id, "channel_id": None,
                                         "business_type": business_type}, amount_cents=cents)
    for code, name, cents in MEDIA:
        _get_or_add(session, MediaModel, {"code": code}, name=name, price_cents=cents)
    for code, name, name_en in COURIERS:
        _get_or_add(session, Courier, {"code": code}, name=name, name_en=name_en)
    for code, name, special in CHANNELS:
        channel = _get_or_add(session, Channel, {"code": code}, name=name)
        if special:
            product = session.scalars(select(Product).filter_by(code=special[0])).one()
            _get_or_add(session, ChannelProduct, {"channel_id": channel.id, "product_id": product.id})
            _get_or_add(session, Price, {"product_id": product.id, "channel_id": channel.id,
                                         "business_type": BusinessType.NEW},
                        amount_cents=special[1])
        yield f"channel {code}: http://127.0.0.1:5000/c/{code}/apply"


def load_staff(session: Session) -> Iterator[str]:
    """One demo account per role, its second factor already set up. The passwords and TOTP
    secrets are printed because they are demo ones: add the secret to an authenticator app."""
    for username, display, role in STAFF:
        password = f"demo-{username}-2026"
        staff = _get_or_add(session, Staff, {"username": username}, display_name=display, role=role,
                            password_hash=staff_accounts.hash_password(password))
        staff.email = staff.email or f"{username}@ca.example.cn"
        if staff.totp_confirmed_at is None:
            staff_accounts.start_enrolment(staff)
            staff.totp_confirmed_at = utcnow()
        yield f"staff {role.value:16} {username} / {password}  TOTP secret {staff.totp_secret}"
