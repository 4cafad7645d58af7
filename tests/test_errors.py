"""Error answers are the product's own pages in the visitor's language (JSON on the API), and
the language a visitor picks survives redirects."""
from __future__ import annotations

import io

import pytest

from models import StaffRole
from tests.conftest import image_bytes


def _text(response) -> str:
    return response.get_data(as_text=True)


def test_a_missing_page_is_the_products_own_page_in_chinese_then_in_english(client):
    chinese = client.get("/no-such-page")
    assert chinese.status_code == 404 and "text/html" in chinese.content_type
    assert "页面不存在" in _text(chinese) and 'href="/query"' in _text(chinese)
    english = client.get("/no-such-page?lang=en")
    assert english.status_code == 404 and "This page does not exist" in _text(english)


def test_the_chosen_language_survives_the_redirect_from_the_home_address(client):
    response = client.get("/?lang=en", follow_redirects=True)
    assert response.status_code == 200 and "New unit certificate" in _text(response)
    assert client.get("/c/direct/apply").get_data(as_text=True).count("统一社会信用代码") == 0


def test_an_order_opened_in_another_browser_points_to_the_order_query(app, order_number):
    elsewhere = app.test_client()
    page = elsewhere.get(f"/apply/{order_number}")
    assert page.status_code == 404
    assert "订单查询" in _text(page) and 'id="go-order-query"' in _text(page) and order_number in _text(page)
    english = elsewhere.get(f"/apply/{order_number}/materials?lang=en")
    assert english.status_code == 404 and "use the order query" in _text(english)
    # the same page whether or not the number exists: nobody learns which orders there are
    assert "id=\"go-order-query\"" in _text(elsewhere.get("/apply/20991231U999999"))


def test_several_files_over_the_request_limit_get_the_products_page(client, order_number, app):
    size = app.config["MAX_CONTENT_LENGTH"] // 3 + 1024
    files = {kind: (io.BytesIO(b"\0" * size), f"{kind}.png")
             for kind in ("business_licence", "agent_id_front", "agent_id_back")}
    response = client.post(f"/apply/{order_number}/materials", data=files, content_type="multipart/form-data")
    assert response.status_code == 413 and "text/html" in response.content_type
    assert "1.5" in _text(response) and "太大" in _text(response)


def test_too_many_requests_get_a_page_in_the_visitors_language(rate_limited_app, db_session):
    browser = rate_limited_app.test_client()
    browser.get("/c/direct/apply?lang=en")
    answers = [browser.get("/captcha.png") for _ in range(31)]
    assert answers[-1].status_code == 429
    assert "Too many requests" in _text(answers[-1]) and answers[-1].headers["Retry-After"]


def test_a_wrong_method_is_the_products_page(client):
    response = client.get("/apply/20261201U000001/materials/done")
    assert response.status_code == 405 and "不能这样使用" in _text(response)


def test_a_console_page_refused_to_a_role_is_a_console_page(client, login_as):
    login_as(StaffRole.FINANCE)
    response = client.get("/console/queues/new")
    assert response.status_code == 403
    assert "console-main" in _text(response) and "无权" in _text(response)


def test_an_unexpected_error_is_a_500_page_that_saved_nothing(make_app, db_session):
    app = make_app(TESTING=False)

    def broken():
        raise RuntimeError("a bug")

    app.add_url_rule("/_broken", view_func=broken)
    response = app.test_client().get("/_broken")
    assert response.status_code == 500 and "没有保存" in _text(response)


@pytest.mark.parametrize(("url", "status"), [("/api/v1/nothing-here", 404), ("/api/v1/applications", 405)])
def test_api_errors_are_json(client, url, status):
    response = client.get(url)
    assert response.status_code == status and response.is_json and response.get_json()["error"]


def test_a_materials_page_upload_within_the_limit_is_unaffected(client, order_number):
    data = {"business_licence": (io.BytesIO(image_bytes()), "licence.png")}
    response = client.post(f"/apply/{order_number}/materials", data=data, content_type="multipart/form-data")
    assert response.status_code == 302
