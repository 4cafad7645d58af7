"""The administration lists' search and filters take what is typed literally (found by the console
fuzz in tests/test_hostile_fuzz.py): a '%' or '_' matches itself, a backslash no longer makes
PostgreSQL refuse the query, and a number past what the column holds is an invalid filter value."""
from __future__ import annotations

import re

import pytest

from models import StaffRole
from tests.conftest import add_staff


def _usernames(page: str) -> set[str]:
    return set(re.findall(r"<td[^>]*>\s*(fuzzadmin[^<\s@]*)\s*</td>", page))


@pytest.fixture
def staff_list(client, db_session, login_as):
    login_as(StaffRole.ADMIN)
    for username in ("fuzzadmin_a", "fuzzadminxa", "fuzzadmin%b", "fuzzadmin\\c"):
        add_staff(db_session, StaffRole.REVIEWER, username)
    db_session.commit()
    return lambda **args: client.get("/console/admin/staff/", query_string=args)


def test_an_underscore_or_percent_in_the_search_matches_only_itself(staff_list):
    assert _usernames(staff_list(search="fuzzadmin_").get_data(as_text=True)) == {"fuzzadmin_a"}
    assert _usernames(staff_list(search="fuzzadmin%").get_data(as_text=True)) == {"fuzzadmin%b"}
    assert _usernames(staff_list(search="^fuzzadmin").get_data(as_text=True)) >= {"fuzzadmin_a", "fuzzadminxa"}


@pytest.mark.parametrize("term", ["=\\", "^\\", "fuzzadmin\\", "=fuzzadmin\\c", "\\"])
def test_a_search_ending_in_a_backslash_is_answered(staff_list, term):
    response = staff_list(search=term)
    assert response.status_code == 200
    if term == "=fuzzadmin\\c":
        assert "fuzzadmin\\c" in response.get_data(as_text=True)


def _filter_arg(app, column: str, kind: str) -> str:
    """The audit log's filter argument for a column's filter of a kind (its class name)."""
    view = next(v for a in app.extensions["admin"] for v in a._views if v.endpoint == "admin_audit_log")
    return next(f"flt0_{key}" for key, (_, flt) in view._filter_args.items()
                if getattr(flt, "column", None) is not None and flt.column.key == column
                and type(flt).__name__ == kind)


@pytest.mark.parametrize("kind", ["_Contains", "_DoesNotContain"])
def test_a_contains_filter_ending_in_a_backslash_is_answered(app, client, login_as, kind):
    login_as(StaffRole.ADMIN)
    arg = _filter_arg(app, "actor", kind)
    assert client.get("/console/admin/audit/", query_string={arg: "=\\", "lang": "en"}).status_code == 200


@pytest.mark.parametrize(("kind", "value"), [
    ("IntEqualFilter", "9" * 30), ("IntEqualFilter", "-9999999999999"), ("IntGreaterFilter", "2147483648"),
    ("IntInListFilter", "1,2,99999999999")])
def test_a_number_filter_past_the_column_is_an_invalid_filter_value(app, client, login_as, kind, value):
    login_as(StaffRole.ADMIN)
    arg = _filter_arg(app, "order_id", kind)
    response = client.get("/console/admin/audit/", query_string={arg: value, "lang": "en"})
    assert response.status_code == 200
    assert "Invalid Filter Value" in response.get_data(as_text=True)
