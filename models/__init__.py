"""The registration desk's data model: plain SQLAlchemy, no Flask."""
from models import audit_chain  # registers the flush hook that links audit entries
from models.audit import AuditChainHead, AuditEntry, AuditSeal, record
from models.base import Base
from models.calendar import CalendarOverride, SlaPolicy
from models.captcha import CaptchaChallenge
from models.certificate import (
    CaCertificate,
    CaRole,
    Certificate,
    CertificateProfile,
    CertificateStatus,
    Crl,
    RevocationReason,
)
from models.channel import Channel, ChannelProduct
from models.delivery import Delivery
from models.fulfillment import (
    Courier,
    PasswordCardSequence,
    Shipment,
    ShipmentStatus,
    StockItem,
    StockLevel,
    StockMovement,
    StockMovementKind,
    next_password_card_number,
)
from models.helper_session import HelperPurpose, HelperSession, HelperTaskStatus
from models.idempotency import IdempotencyRecord
from models.invoice import Invoice, InvoiceKind, InvoiceSequence, InvoiceStatus, next_invoice_sequence
from models.mail import BankTransfer, EmailAttachment, EmailMessage
from models.material import Material, MaterialKind
from models.order import AgentIdentityMethod, IdentityMethod, Order
from models.order_number import OrderSequence, next_order_number
from models.order_state import BusinessType, CertKind, OrderStatus
from models.organisation import Organisation
from models.payment import (
    BANK_TRANSFER,
    NotificationOutcome,
    Payment,
    PaymentNotification,
    PaymentStatus,
    Refund,
    RefundReason,
    RefundStatus,
)
from models.person import IdType, Person, PersonRole
from models.product import MediaModel, Price, Product
from models.reminder import ReminderOptOut, ReminderStage, RenewalReminder
from models.review import (
    CheckOutcome,
    Decision,
    DenyListEntry,
    IdentityCheck,
    MaterialRequest,
    OrderNote,
    RejectionReason,
    ReviewDecision,
    ReviewQueue,
)
from models.sms import SmsCode, SmsMessage
from models.staff import REVIEW_ROLES, Staff, StaffRole
from models.station import (
    ACTIVE_JOB,
    JobStatus,
    KeyReturn,
    KeyUnlock,
    ProgrammingJob,
    ProgrammingStep,
    ReturnStatus,
    Station,
    Token,
    UnlockStatus,
)
from models.token_state import HELD, TokenState
from models.work import ScheduledRun, WorkItem, WorkStatus

__all__ = [
    "audit_chain", "record",
    "REVIEW_ROLES", "AgentIdentityMethod", "AuditChainHead", "AuditEntry", "AuditSeal",
    "BankTransfer", "Base", "CaCertificate", "CaRole", "CertificateProfile", "CertificateStatus", "Crl",
    "RevocationReason", "BusinessType", "CalendarOverride", "CaptchaChallenge", "CertKind", "Certificate",
    "IdempotencyRecord",
    "Channel", "ChannelProduct", "CheckOutcome", "Decision", "Delivery", "DenyListEntry", "EmailMessage",
    "IdType", "IdentityCheck", "IdentityMethod", "Material", "MaterialKind", "MaterialRequest",
    "MediaModel", "Order", "OrderSequence", "OrderStatus", "Organisation", "Person",
    "PersonRole", "Price", "Product", "RejectionReason", "ReviewDecision", "ReviewQueue",
    "SlaPolicy", "SmsCode", "SmsMessage", "Staff", "StaffRole", "next_order_number",
    "EmailAttachment", "Invoice", "InvoiceKind", "InvoiceSequence", "InvoiceStatus", "next_invoice_sequence",
    "BANK_TRANSFER", "NotificationOutcome", "Payment", "PaymentNotification", "PaymentStatus", "Refund", "RefundReason",
    "RefundStatus",
    "Courier", "PasswordCardSequence", "Shipment", "ShipmentStatus", "StockItem", "StockLevel", "StockMovement",
    "StockMovementKind", "next_password_card_number",
    "OrderNote",
    "ACTIVE_JOB", "HELD", "JobStatus", "KeyReturn", "ProgrammingJob", "ProgrammingStep", "ReturnStatus", "Station",
    "KeyUnlock", "Token", "TokenState", "UnlockStatus",
    "ScheduledRun", "WorkItem", "WorkStatus",
    "HelperPurpose", "HelperSession", "HelperTaskStatus",
    "ReminderOptOut", "ReminderStage", "RenewalReminder",
]
