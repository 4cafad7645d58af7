"""The console's navigation: queues with their counts, SLA badges for senior reviewers."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from flask import current_app, g, request, url_for
from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from models import REVIEW_ROLES, ReviewQueue, StaffRole
from models.base import utcnow
from models.business_time import BUSINESS_TZ
from review import identity, queues, sla
from web.extensions import db
from web.staff_login import is_staff

QUEUE_LABELS = {
    ReviewQueue.NEW: _l("New applications"),
    ReviewQueue.REPLACEMENT: _l("Replacements"),
    ReviewQueue.INFO_CHANGE: _l("Information changes"),
    ReviewQueue.REVOCATION: _l("Revocations"),
    ReviewQueue.RESUBMITTED: _l("Re-submitted materials"),
    ReviewQueue.PERSONAL: _l("Personal certificates"),
}


@dataclass
class NavItem:
    key: str
    label: str
    url: str
    count: int | None = None
    active: bool = False


@dataclass
class ConsoleNav:
    queues: list[NavItem] = field(default_factory=list)
    links: list[NavItem] = field(default_factory=list)
    badges: dict | None = None
    search_url: str | None = None


def request_calendar() -> sla.WorkingCalendar:
    """The working-day calendar, loaded once per request (the page and its badges both need it)."""
    if "sla_calendar" not in g:
        g.sla_calendar = sla.load_calendar(db.session)
    return g.sla_calendar


def console_nav() -> dict:
    if not is_staff():
        return {}
    nav = ConsoleNav(search_url=url_for("review.search"))
    ttl = current_app.config["QUEUE_COUNTS_TTL_SECONDS"]
    role = current_user.role
    if role in REVIEW_ROLES:
        counts = queues.queue_counts(db.session, ttl)
        current = request.view_args.get("name") if request.view_args else None
        nav.queues = [NavItem(q.value, str(QUEUE_LABELS[q]), url_for("review.queue", name=q.value),
                              counts[q], q.value == current) for q in ReviewQueue]
    if role == StaffRole.SENIOR_REVIEWER:
        badges = queues.sla_badges(db.session, request_calendar(), utcnow(), ttl)
        nav.badges = {**badges, "overdue_url": url_for("review.overdue"),
                      "due_soon_url": url_for("review.queue", name="new", due="due_in_1_day")}
    if role in (StaffRole.SENIOR_REVIEWER, StaffRole.ADMIN):
        nav.links.append(NavItem("dashboard", str(_l("Dashboard")), url_for("review.dashboard"),
                                 active=request.endpoint == "review.dashboard"))
    nav.links.append(NavItem("certificates", str(_l("Certificates")), url_for("review.certificate_register"),
                             active=(request.endpoint or "").startswith("review.certificate")))
    if role == StaffRole.SENIOR_REVIEWER:
        nav.links.append(NavItem("reviewers", str(_l("Reviewers")), url_for("review.reviewers"),
                                 active=request.endpoint == "review.reviewers"))
    if role in (StaffRole.SENIOR_REVIEWER, StaffRole.ADMIN):
        nav.links.append(NavItem("messages", str(_l("Messages")), url_for("review.messages"),
                                 active=request.endpoint == "review.messages"))
        nav.links.append(NavItem("ca", str(_l("The CA")), url_for("review.ca_status"),
                                 active=request.endpoint == "review.ca_status"))
    if role in (StaffRole.FULFILLMENT, StaffRole.ADMIN):
        nav.links.append(NavItem("station", str(_l("Key programming")), url_for("station.home"),
                                 active=request.blueprint == "station"))
    if role in (StaffRole.FINANCE, StaffRole.ADMIN):
        nav.links.append(NavItem("finance", str(_l("Finance")), url_for("finance.home"),
                                 active=request.blueprint == "finance"))
    if role == StaffRole.ADMIN:
        nav.links.append(NavItem("admin", str(_l("Administration")), url_for("admin.index")))
    return {"console_nav": nav}


def shanghai(value: dt.datetime | None) -> str:
    """A timestamp as staff read it: Beijing time, to the minute."""
    return value.astimezone(BUSINESS_TZ).strftime("%Y-%m-%d %H:%M") if value else ""


def check_detail(detail: str | None) -> str:
    """An identity check's detail in the reviewer's language: each of its sentences that the
    product wrote (see review.identity) is translated; a verifier's own words stay as they are."""
    if not detail:
        return ""
    return identity.DETAIL_SEPARATOR.join(gettext(part) for part in detail.split(identity.DETAIL_SEPARATOR))
