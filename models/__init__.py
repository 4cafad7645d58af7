"""The registration desk's data model: plain SQLAlchemy, no Flask."""
from models.audit import AuditEntry
from models.base import Base
from models.certificate import Certificate
from models.channel import Channel, ChannelProduct
from models.material import Material, MaterialKind
from models.order import AgentIdentityMethod, IdentityMethod, Order
from models.order_number import OrderSequence, next_order_number
from models.order_state import BusinessType, CertKind, OrderStatus
from models.organisation import Organisation
from models.person import IdType, Person, PersonRole
from models.product import MediaModel, Price, Product
from models.sms import SmsCode, SmsMessage
from models.staff import Staff, StaffRole

__all__ = [
    "AgentIdentityMethod", "AuditEntry", "Base", "BusinessType", "CertKind", "Certificate", "Channel",
    "ChannelProduct", "IdType", "IdentityMethod", "Material", "MaterialKind", "MediaModel", "Order",
    "OrderSequence", "OrderStatus", "Organisation", "Person", "PersonRole", "Price",
    "Product", "SmsCode", "SmsMessage", "Staff", "StaffRole", "next_order_number",
]
