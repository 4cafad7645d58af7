"""Generated hostile text in every text field the applicant fills and every search and filter of the
console: arbitrary unicode (NUL and other controls, bidi marks, combining marks, emoji, CJK),
whitespace only, values at and past each field's length, SQL and LIKE metacharacters, and valid
values typed with noise. Never a 5xx. A form either keeps the value, stored exactly as its
normalised form reads back from the database, or refuses it with a message beside the field,
keeping what was typed elsewhere and storing nothing; the API answers 422 naming the field.

The fields, routes and query parameters are found from the code (the form classes, the URL map,
the pages' own filter forms, Flask-Admin's searchable columns and filters), so a field or page
added later is fuzzed without editing this file; discovery that finds nothing fails. Each surface
is one hypothesis test drawing the field too, with a bounded number of requests (derandomised: the
same examples on every run). The suite runs on PostgreSQL too, where most such faults show."""
from __future__ import annotations

import inspect
import json
import re
import string

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select
from wtforms import StringField, TextAreaField
from wtforms.validators import Length

from models import Order, Staff, StaffRole
from public import validators
from public.forms import ApplicationForm, Checked, PublicApplicationForm, form_fields
from public.openapi import APPLICATION_EXAMPLE
from public.personal_forms import PersonalApplicationForm
from tests import factories
from tests.conftest import add_staff, sign_in, solve_captcha
from tests.test_hostile_text import _console_get_urls
from web.errors import InvalidValue
from web.text import plain_text


def fuzz(examples: int):
    return settings(max_examples=examples, deadline=None, derandomize=True, database=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                           HealthCheck.data_too_large, HealthCheck.filter_too_much])


# --- generated text -------------------------------------------------------------------------------

HOSTILE = ("\x00\x07\t\n\r\x1b\x1f\x7f\x85\u00a0\u200b\u200d\u2060\u202e\u2066\ufeff\u3000\u0301\u0327"
           "\U0001f600\U0001f1e8\U0001f1f3中文號 ＡＢ１２（）%_\\'\";-/*<>&@.#" + string.ascii_letters + string.digits)
METACHARACTERS = ["%", "_", "\\", "'", "%%", "=\\", "^%", "=%", "_%_", "\\%", "' OR '1'='1",
                  "'; DROP TABLE \"order\"; --", "a%b_c\\d", "[a-z]*", "%' --", "\\\\", "$1", "?", ":name"]
FULL_WIDTH = {cp - 0xFEE0: cp for cp in range(0xFF01, 0xFF5F)}
LONG_UNITS = ["a", "中", "\U0001f600", "é", "e\u0301", " "]


def unicode_text(surrogates: bool = False) -> st.SearchStrategy[str]:
    excluded = () if surrogates else ("Cs",)
    return st.text(st.characters(exclude_categories=excluded), max_size=60)


def around_limit(limit: int | None) -> st.SearchStrategy[str]:
    """A value of about the field's length (just under, at, just past) or far longer."""
    lengths = st.integers(max(limit - 2, 1), limit + 2) if limit else st.integers(100, 300)
    return st.builds(lambda unit, n: (unit * n)[:n] if len(unit) == 1 else unit * (n // len(unit)),
                     st.sampled_from(LONG_UNITS), st.one_of(lengths, st.just(5000)))


def noisy(example: str) -> st.SearchStrategy[str]:
    """A valid value as people type it: padded, in full-width forms, with metacharacters added."""
    return st.one_of(
        st.builds(lambda before, after: before + example + after, st.sampled_from(["", " ", "\u3000", "\t"]),
                  st.sampled_from(["", " ", "\u3000", "\n"])),
        st.just(example.translate(FULL_WIDTH)),
        st.builds(lambda meta: example + meta, st.sampled_from(METACHARACTERS)),
    )


def typed(example: str, limit: int | None, surrogates: bool = False) -> st.SearchStrategy[str]:
    return st.one_of(
        unicode_text(surrogates),
        st.text(st.sampled_from(HOSTILE), max_size=40),
        st.sampled_from(METACHARACTERS),
        st.text(st.sampled_from(" \t\u3000\u00a0\u2003\u205f"), min_size=1, max_size=8),
        around_limit(limit),
        noisy(example) if example else st.just(""),
    )


def has_unsafe_text(value: str) -> bool:
    try:
        plain_text(value)
    except InvalidValue:
        return True
    return False


# --- what the forms say about their fields --------------------------------------------------------


def text_fields(form_class) -> list[str]:
    found = sorted(name for name, kind in form_fields(form_class).items() if issubclass(kind, StringField))
    assert found, f"no text field found on {form_class.__name__}"
    return found


def _validators_of(form_class, name: str) -> list:
    unbound = next(vars(cls)[name] for cls in form_class.__mro__ if name in vars(cls))
    return list(unbound.kwargs.get("validators") or [])


def max_length(form_class, name: str) -> int | None:
    limits = [check.max for check in _validators_of(form_class, name) if isinstance(check, Length) and check.max > 0]
    return min(limits) if limits else None


def normalised(form_class, name: str, value: str, data: dict) -> str:
    """What the form keeps of an accepted value: trimmed, then as its checks answer (an ID number by
    the rules of the ID type beside it)."""
    value = value.strip()
    if not value:
        return value
    for check in _validators_of(form_class, name):
        if isinstance(check, Checked):
            value = check.check(value)
    if name.endswith("_id_number"):
        value = validators.id_number(data[name.replace("_id_number", "_id_type")], value)
    return value


# Where each text field of the application forms is kept: a field added to a form fails the fuzz
# test until it says where it reads back from.
STORED = {
    "org_name": lambda o: o.organisation.name,
    "org_department": lambda o: o.organisation.department,
    "credit_code": lambda o: o.organisation.credit_code,
    "org_phone": lambda o: o.organisation.phone,
    "legal_rep_name": lambda o: o.legal_rep.name,
    "legal_rep_phone": lambda o: o.legal_rep.phone,
    "legal_rep_id_number": lambda o: o.legal_rep.id_number,
    "legal_rep_bank_card": lambda o: o.legal_rep.bank_card_number,
    "account_number": lambda o: o.account_number,
    "bank_name": lambda o: o.bank_name,
    "invoice_taxpayer_id": lambda o: o.invoice_taxpayer_id,
    "invoice_address_phone": lambda o: o.invoice_address_phone,
    "invoice_bank_account": lambda o: o.invoice_bank_account,
    "agent_name": lambda o: o.agent.name,
    "agent_phone": lambda o: o.agent.phone,
    "agent_id_number": lambda o: o.agent.id_number,
    "agent_bank_account": lambda o: o.agent.bank_card_number,
    "agent_email": lambda o: o.agent.email,
    "mailing_address": lambda o: o.mailing_address,
    "captcha": None,  # checked against the picture, never kept
}


def _orders(db_session) -> int:
    return db_session.scalar(select(func.count()).select_from(Order))


def _latest_order(db_session) -> Order:
    db_session.expire_all()
    return db_session.scalars(select(Order).order_by(Order.id.desc())).first()


def _error_for(page: str, field: str) -> str:
    found = re.search(rf'data-error-for="{field}">([^<]*)<', page)
    return found.group(1).strip() if found else ""


def _escaped(value: str) -> str:
    return value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&#34;")


PERSONAL = {"agent_name": "王小明", "agent_id_type": "resident_id", "agent_id_number": "11010519491231002X",
            "agent_phone": "13912345678", "agent_identity_method": "phone", "agent_bank_account": "",
            "agent_email": "xiaoming@example.cn", "product": "PERSON-1Y", "media_type": "card",
            "media_model": "UKEY-RS", "mailing_province": "410000", "mailing_city": "410100",
            "mailing_address": "郑州市金水区花园路8号", "consent": "y"}
UNIT = {**{k: v for k, v in APPLICATION_EXAMPLE.items() if k != "consent"}, "consent": "y"}
FORMS = [(PublicApplicationForm, "/c/direct/apply", UNIT), (PersonalApplicationForm, "/c/direct/personal/apply",
                                                             PERSONAL)]


@st.composite
def form_submissions(draw):
    form_class, url, data = draw(st.sampled_from(FORMS))
    field = draw(st.sampled_from(text_fields(form_class)))
    value = draw(typed(data.get(field, ""), max_length(form_class, field)), label=field)
    return form_class, url, data, field, value


def test_every_text_field_of_the_application_forms_says_where_it_is_kept():
    for form_class, _, _ in FORMS:
        missing = [name for name in text_fields(form_class) if name not in STORED]
        assert not missing, f"{form_class.__name__}: add to STORED where these fields are kept: {missing}"


@fuzz(80)
@given(submission=form_submissions())
def test_the_application_forms_keep_or_refuse_any_text_in_any_field(client, db_session, submission):
    form_class, url, data, field, value = submission
    before = _orders(db_session)
    response = client.post(url, data={**data, **solve_captcha(client, url), field: value})
    assert response.status_code in (200, 302), response.status_code
    event("kept" if response.status_code == 302 else "refused")
    if response.status_code == 302:
        assert _orders(db_session) == before + 1
        if STORED[field] is not None:
            assert (STORED[field](_latest_order(db_session)) or "") == normalised(form_class, field, value, data)
        return
    page = response.get_data(as_text=True)
    assert _error_for(page, field), f"{field}={value!r} refused without a message beside it"
    assert _orders(db_session) == before
    others = [name for name in ("org_name", "agent_name", "mailing_address") if name in data and name != field]
    for name in others:
        assert _escaped(data[name]) in page, f"{name} lost after {field} was refused"


@pytest.fixture
def api_headers(runner):
    output = runner.invoke(args=["channel", "create", "模糊测试渠道", "--code", "fuzz"]).output
    return {"Authorization": "Bearer " + output.split("api key:")[1].strip()}


@st.composite
def api_bodies(draw):
    field = draw(st.sampled_from(text_fields(ApplicationForm)))
    # JSON carries what a form post cannot: lone surrogates ("\ud800" is valid JSON, no valid text).
    value = draw(typed(APPLICATION_EXAMPLE.get(field, ""), max_length(ApplicationForm, field), surrogates=True),
                 label=field)
    return field, value


@fuzz(100)
@given(body=api_bodies())
def test_the_api_keeps_or_refuses_any_text_in_any_field_naming_the_field(client, db_session, api_headers, body):
    field, value = body
    before = _orders(db_session)
    response = client.post("/api/v1/applications", headers=api_headers, content_type="application/json",
                           data=json.dumps({**APPLICATION_EXAMPLE, field: value}))
    assert response.status_code in (201, 422), response.status_code
    event("kept" if response.status_code == 201 else "refused")
    if response.status_code == 201:
        assert _orders(db_session) == before + 1
        stored = STORED[field](_latest_order(db_session)) or ""
        assert stored == normalised(ApplicationForm, field, value, APPLICATION_EXAMPLE)
        return
    errors = response.get_json()["errors"]
    assert {e["field"] for e in errors} == {field}, errors
    assert all(e["message"].strip() for e in errors)
    assert _orders(db_session) == before


# --- the console's search and filters -------------------------------------------------------------

CONSOLE_ROLES = (StaffRole.SENIOR_REVIEWER, StaffRole.FULFILLMENT, StaffRole.FINANCE, StaffRole.ADMIN)
# Values the console's own filters are made of, beside the text: numbers past what a column holds,
# dates real and impossible, cursors, Flask-Admin's search prefixes.
CONSOLE_ODD = ["9" * 30, "-1", "0", "2147483648", "1e400", "NaN", "2026-12-01", "2026-02-30", "２０２６-１２-０１",
               "1700000000000000.1", "99999999999999999999.1", ".", "=\\", "=%", "^\\", "^_", "=", "^", "a b",
               "true", "y", "[]", "{}", "0x10"]
_GET_FORM = re.compile(r"<form\b[^>]*\bmethod=\"get\"[^>]*>(.*?)</form>", re.S | re.I)
_NAMED = re.compile(r"<(?:input|select|textarea)\b[^>]*\bname=\"([^\"]+)\"", re.I)
_LINK_QUERY = re.compile(r"href=\"([^\"?#]*)\?([^\"#]+)\"")
_READS_ARG = re.compile(r"args\.get\(\s*\"(\w+)\"")


def _admin_params(app, endpoint: str) -> set[str]:
    """A Flask-Admin list's search and filter arguments (flt<position>_<filter>), and its paging."""
    for admin in app.extensions.get("admin", []):
        for view in admin._views:
            if endpoint == f"{view.endpoint}.index_view" and hasattr(view, "_filter_args"):
                found = {"sort", "desc", "page", "page_size"}
                if view.column_searchable_list:
                    found.add("search")
                found |= {f"flt{n}_{key}" for key in (view._filter_args or {}) for n in (0, 1)}
                return found
    return set()


def _page_params(page: str, path: str) -> set[str]:
    """The names the page's own filter forms send, and the query keys of its links to itself."""
    names = {name for form in _GET_FORM.findall(page) for name in _NAMED.findall(form)}
    for target, query in _LINK_QUERY.findall(page):
        if target in ("", path):
            names |= {pair.split("=", 1)[0] for pair in query.replace("&amp;", "&").split("&")}
    return names


def _source_params(app, endpoint: str) -> set[str]:
    """What the module of our own view reads from the query string (Flask-Admin's: _admin_params)."""
    module = inspect.getmodule(inspect.unwrap(app.view_functions[endpoint]))
    if module is None or module.__name__.startswith("flask_admin"):
        return set()
    return set(_READS_ARG.findall(inspect.getsource(module)))


# Whom to ask first for a page (the others are asked when that one may not see it).
FIRST_ROLE = {"/console/admin": StaffRole.ADMIN, "/console/finance": StaffRole.FINANCE,
              "/console/station": StaffRole.FULFILLMENT}


def _roles_for(url: str) -> list[StaffRole]:
    first = next((role for prefix, role in FIRST_ROLE.items() if url.startswith(prefix)), CONSOLE_ROLES[0])
    return [first, *(role for role in CONSOLE_ROLES if role != first)]


@pytest.fixture
def console(app, db_session):
    """Each console page with a query string worth fuzzing: (url, a client signed in with a role that
    may see it, the query parameters the page reads)."""
    from models import Material

    order = factories.paid_order(db_session, app.config["UPLOAD_FOLDER"])
    material_id = db_session.scalar(select(Material.id).where(Material.order_id == order.id))
    number = order.number
    staff = {role: add_staff(db_session, role).id for role in CONSOLE_ROLES}
    db_session.commit()
    clients = {}
    for role, staff_id in staff.items():
        clients[role] = app.test_client()
        assert sign_in(clients[role], db_session.get(Staff, staff_id)).status_code == 302
    adapter = app.url_map.bind("localhost")
    pages = []
    for url in _console_get_urls(app, number, material_id):
        endpoint, _ = adapter.match(url, method="GET")
        for role in _roles_for(url):
            signed_in = clients[role]
            response = signed_in.get(url)
            if response.status_code not in (302, 403):
                break
        else:
            continue
        params = _admin_params(app, endpoint) | _source_params(app, endpoint)
        if response.mimetype == "text/html":
            params |= _page_params(response.get_data(as_text=True), url)
        params -= {"csrf_token", "lang"}
        if params:
            pages.append((url, signed_in, sorted(params)))
    found = {url: set(names) for url, _, names in pages}
    assert len(found) >= 10, sorted(found)
    assert "q" in found["/console/search"] and "status" in found["/console/finance/payments"], found
    assert {"search", "flt0_0"} <= found["/console/admin/staff/"], found
    return pages


@st.composite
def console_queries(draw, pages):
    url, signed_in, params = draw(st.sampled_from(pages))
    names = draw(st.lists(st.sampled_from(params), min_size=1, max_size=3, unique=True))
    values = st.one_of(typed("", 64), st.sampled_from(CONSOLE_ODD))
    return url, signed_in, {name: draw(values, label=name) for name in names}


# Each page once with every parameter it reads set to one of these: what broke a page before (a
# LIKE pattern ending in a backslash, numbers past an integer column, an impossible date).
SWEEP = ["=\\", "%_\\", "9" * 30, "-2147483649", "2026-02-30", "1,2,99999999999", "'; --", "a" * 3000]


def test_console_search_and_filters_take_any_text_without_a_server_error(console):
    failures = [f"{url} with every parameter {value!r} -> {code}"
                for url, signed_in, params in console for value in SWEEP
                if (code := signed_in.get(url, query_string=dict.fromkeys(params, value)).status_code) >= 500]
    assert not failures, "\n".join(failures)

    @fuzz(80)
    @given(data=st.data())
    def any_query(data):
        url, signed_in, query = data.draw(console_queries(console))
        response = signed_in.get(url, query_string=query)
        assert response.status_code < 500, (url, query)
        if any(has_unsafe_text(name) or has_unsafe_text(value) for name, value in query.items()):
            assert response.status_code == 400, (url, query, response.status_code)

    any_query()


# --- every public form, field by field ------------------------------------------------------------


def public_form_classes() -> list[type]:
    import public.views  # noqa: F401  (the blueprint's modules define the forms)
    from public.blueprint import public_bp  # noqa: F401
    from web.forms import Form

    found, todo = [], list(Form.__subclasses__())
    while todo:
        cls = todo.pop()
        todo.extend(cls.__subclasses__())
        if cls.__module__.startswith("public.") and cls not in found and any(
                issubclass(kind, StringField) for kind in form_fields(cls).values()):
            found.append(cls)
    return sorted(found, key=lambda cls: (cls.__module__, cls.__name__))


PUBLIC_FORMS = public_form_classes()
FIELD_EXAMPLES = {**UNIT, **PERSONAL, "credit_code": APPLICATION_EXAMPLE["credit_code"], "id_type": "credit_code",
                  "cert_kind": "unit", "id_number": APPLICATION_EXAMPLE["credit_code"], "sms_code": "123456",
                  "holder_id_number": "11010519491231002X", "holder_id_type": "resident_id", "reason": "丢失"}


@st.composite
def public_form_fields(draw):
    form_class = draw(st.sampled_from(PUBLIC_FORMS))
    field = draw(st.sampled_from(text_fields(form_class)))
    value = draw(typed(FIELD_EXAMPLES.get(field, ""), max_length(form_class, field)), label=field)
    return form_class, field, value


def test_the_public_forms_are_found_and_every_text_field_has_a_length():
    names = {cls.__name__ for cls in PUBLIC_FORMS}
    assert {"ApplicationForm", "PersonalApplicationForm", "OrderQueryForm", "RevocationForm",
            "InfoChangeForm", "UnlockIdentityForm", "RenewalForm", "ReplacementForm"} <= names, names
    # A text field without a length would hand PostgreSQL a value longer than its column.
    unbounded = [f"{cls.__name__}.{name}" for cls in PUBLIC_FORMS for name in text_fields(cls)
                 if max_length(cls, name) is None]
    assert not unbounded, unbounded


@fuzz(150)
@given(case=public_form_fields())
def test_every_public_form_keeps_any_text_as_storable_text_of_its_length_or_refuses_it(app, case):
    """The after-sale forms (revocation, information change, unlock, renewal, replacement, order
    query) are built from the same fields: each keeps a value only as text a database holds, within
    the field's length, or refuses it with a message beside the field."""
    from werkzeug.datastructures import MultiDict

    form_class, field, value = case
    with app.test_request_context(method="POST"):
        form = form_class(formdata=MultiDict({**FIELD_EXAMPLES, field: value}), meta={"csrf": False})
        form.validate()
        errors = form.errors.get(field)
        if errors:
            event("refused")
            assert all(str(message).strip() for message in errors), errors
            return
        event("kept")
        kept = form[field].data or ""
        plain_text(kept, multiline=isinstance(form[field], TextAreaField))
        limit = max_length(form_class, field)
        assert limit is None or len(kept) <= limit, (form_class.__name__, field, kept)
