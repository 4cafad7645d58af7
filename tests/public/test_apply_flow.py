"""The applicant's new-application path through the public pages."""
from __future__ import annotations

import html
import io
import re

import pytest
from PIL import Image
from sqlalchemy import event, select, text
from sqlalchemy.orm import Session

from documents.storage import DocumentStore
from models import AuditEntry, Material, Order, OrderStatus
from tests import factories
from tests.conftest import MATERIAL_KINDS, image_bytes, sms_code_in, solve_captcha


def _order(db_session, number) -> Order:
    return db_session.scalars(select(Order).where(Order.number == number)).one()


def test_form_shows_every_section_in_chinese_by_default(client):
    page = client.get("/c/direct/apply").get_data(as_text=True)
    for expected in ("统一社会信用代码", "法定代表人", "经办人", "发票抬头", "邮寄地址", "验证码",
                     "企业对公账户打款认证", "卡式纪念版介质", "UKEY-RS", "北京市", "新疆维吾尔自治区"):
        assert expected in page, expected


def test_english_is_available(client):
    page = client.get("/c/direct/apply?lang=en").get_data(as_text=True)
    assert "Unified social credit code" in page and "Mailing address" in page


def test_unknown_channel_is_404(client):
    assert client.get("/c/nope/apply").status_code == 404


def test_invalid_fields_get_messages_and_keep_what_was_typed(apply, db_session):
    response = apply(credit_code="91350100M000100Y44", legal_rep_id_number="110105194912310021",
                     agent_phone="1234", agent_email="not-an-email", org_name="测试有限公司A")
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    for field in ("credit_code", "legal_rep_id_number", "agent_phone", "agent_email"):
        assert f'data-error-for="{field}"' in page, field
    assert 'value="91350100M000100Y44"' in page
    assert 'value="测试有限公司A"' in page
    assert 'value="not-an-email"' in page
    assert db_session.scalar(select(Order).limit(1)) is None


def test_city_must_belong_to_the_province(apply):
    page = apply(mailing_province="110000", mailing_city="410100").get_data(as_text=True)
    assert 'data-error-for="mailing_city"' in page


def test_cities_of_the_chosen_province_are_offered_after_an_error(apply):
    page = apply(region_province="650000", region_city="", org_name="").get_data(as_text=True)
    assert "乌鲁木齐市" in page


def test_required_by_identity_method(apply):
    page = apply(identity_method="legal_rep_bank_card", legal_rep_bank_card="").get_data(as_text=True)
    assert 'data-error-for="legal_rep_bank_card"' in page
    page = apply(identity_method="legal_rep_phone", legal_rep_phone="").get_data(as_text=True)
    assert 'data-error-for="legal_rep_phone"' in page
    page = apply(agent_identity_method="bank_card", agent_bank_account="").get_data(as_text=True)
    assert 'data-error-for="agent_bank_account"' in page


def test_other_id_types_are_checked_by_their_own_pattern(apply):
    page = apply(legal_rep_id_type="passport", legal_rep_id_number="E12345678",
                 agent_id_type="home_return_permit", agent_id_number="X1234").get_data(as_text=True)
    assert 'data-error-for="legal_rep_id_number"' not in page
    assert 'data-error-for="agent_id_number"' in page


def test_consent_is_required(apply):
    page = apply(consent=None).get_data(as_text=True)
    assert 'data-error-for="consent"' in page


@pytest.mark.parametrize("value", ["false", "0", "off", "no", "true", "yes", "Y", " y"])
def test_consent_is_only_the_checkbox_own_value(apply, db_session, value):
    before = db_session.scalar(select(text("count(*)")).select_from(Order.__table__))
    response = apply(consent=value)
    assert response.status_code == 200 and 'data-error-for="consent"' in response.get_data(as_text=True)
    assert db_session.scalar(select(text("count(*)")).select_from(Order.__table__)) == before


def test_the_confirm_page_warns_of_an_open_order_of_the_same_organisation(app, client, apply, db_session):
    first = apply().headers["Location"].rsplit("/", 1)[-1]
    second = apply().headers["Location"].rsplit("/", 1)[-1]  # Back, then Next again: filed twice
    page = client.get(f"/apply/{second}").get_data(as_text=True)
    assert 'id="duplicate-warning"' in page and f'href="/apply/{first}/done"' in page
    # another browser filing for the same organisation learns only that there are open orders
    other = app.test_client()
    from tests.conftest import solve_captcha

    data = {**_form_data_of(db_session, first), **solve_captcha(other, "/c/direct/apply")}
    third = other.post("/c/direct/apply", data=data).headers["Location"].rsplit("/", 1)[-1]
    page = other.get(f"/apply/{third}").get_data(as_text=True)
    assert 'id="duplicate-warning"' in page and first not in page and second not in page
    assert "2" in page.split('id="duplicate-warning"')[1].split("</div>")[0]
    # another organisation's order is no duplicate
    fresh = apply(credit_code="91110108MA01ABCD2H", invoice_taxpayer_id="91110108MA01ABCD2H")
    assert fresh.status_code == 302, fresh.get_data(as_text=True)[:300]
    page = client.get(fresh.headers["Location"]).get_data(as_text=True)
    assert 'id="duplicate-warning"' not in page


def _form_data_of(db_session, number: str) -> dict:
    from public.operations import form_data

    data = {k: v for k, v in form_data(_order(db_session, number)).items()}
    data["consent"] = "y"
    return data


def test_wrong_captcha_is_refused_and_tries_are_limited(client, form_data, app, db_session):
    solved = solve_captcha(client, "/c/direct/apply")
    for _ in range(app.config["CAPTCHA_MAX_ATTEMPTS"]):
        page = client.post("/c/direct/apply", data={**form_data, **solved, "captcha": "0000"}).get_data(
            as_text=True)
        assert 'data-error-for="captcha"' in page
    answer = client.get(f"/_test/captcha?t={solved['captcha_token']}")
    assert answer.status_code == 404  # used up: a new picture is needed
    assert client.post("/c/direct/apply", data={**form_data, **solved}).status_code == 200
    assert db_session.scalars(select(Order)).all() == []


def test_valid_form_creates_order_awaiting_materials(order_number, client, db_session):
    order = _order(db_session, order_number)
    assert order.status == OrderStatus.AWAITING_MATERIALS
    assert order_number[8] == "U" and len(order_number) == 15
    assert order.invoice_title == order.organisation.name == order.account_name
    assert order.price_cents == 30000
    page = client.get(f"/apply/{order_number}").get_data(as_text=True)
    assert order_number in page
    assert "11010519491231002X" not in page and "1101**********002X" in page
    assert "6222021234567890123" not in page


def test_channel_restricts_products_and_prices(apply, db_session):
    response = apply(channel="zzggzy")
    number = response.headers["Location"].rsplit("/", 1)[-1]
    assert _order(db_session, number).price_cents == 1


def test_invoice_title_cannot_be_set_by_the_form(apply, db_session):
    number = apply(invoice_title="别的公司", account_name="别的公司").headers["Location"].rsplit("/", 1)[-1]
    order = _order(db_session, number)
    assert order.invoice_title == order.account_name == "郑州信源测试科技有限公司"


def test_return_to_edit_keeps_values_and_number(client, apply, order_number, db_session):
    page = client.get(f"/apply/{order_number}/edit").get_data(as_text=True)
    assert 'value="11010519491231002X"' in page  # the owner sees what they typed, to correct it
    assert 'value="郑州信源测试科技有限公司"' in page
    response = apply(url=f"/apply/{order_number}/edit", org_name="郑州信源新名称有限公司")
    assert response.headers["Location"].endswith(f"/apply/{order_number}")
    assert _order(db_session, order_number).organisation.name == "郑州信源新名称有限公司"
    assert db_session.scalar(select(text("count(*)")).select_from(Order.__table__)) == 1


def test_another_browser_cannot_see_the_order(app, order_number):
    stranger = app.test_client()
    assert stranger.get(f"/apply/{order_number}").status_code == 404
    assert stranger.get(f"/apply/{order_number}/edit").status_code == 404
    assert stranger.get(f"/apply/{order_number}/materials").status_code == 404


def test_upload_rejects_non_images_and_large_files(client, order_number):
    data = {
        "business_licence": (io.BytesIO(b"%PDF-1.4 not an image"), "licence.jpg"),
        "agent_id_front": (io.BytesIO(b"\0" * (1536 * 1024 + 1)), "big.png"),
        "agent_id_back": (io.BytesIO(image_bytes("GIF")), "back.gif"),
    }
    page = client.post(f"/apply/{order_number}/materials", data=data,
                       content_type="multipart/form-data").get_data(as_text=True)
    for kind in ("business_licence", "agent_id_front", "agent_id_back"):
        assert f'data-error-for="{kind}"' in page


def test_upload_reencodes_and_strips_metadata(client, order_number, db_session, app):
    exif = Image.Exif()
    exif[0x010F] = "SecretCameraMaker"
    jpeg = image_bytes("JPEG", exif=exif.tobytes())
    assert b"SecretCameraMaker" in jpeg
    client.post(f"/apply/{order_number}/materials",
                data={"business_licence": (io.BytesIO(jpeg), "scan.bmp")},
                content_type="multipart/form-data")
    material = db_session.scalars(select(Material)).one()
    assert material.content_type == "image/jpeg" and material.stored_name not in "scan.bmp"
    served = client.get(f"/apply/{order_number}/materials/{material.id}")
    assert served.status_code == 200 and served.headers["Cache-Control"] == "private, no-store"
    assert b"SecretCameraMaker" not in served.data
    assert Image.open(io.BytesIO(served.data)).size == (64, 48)


def test_material_preview_only_for_uploader_and_staff(app, client, order_number, upload_all,
                                                      db_session):
    upload_all(order_number)
    material_id = db_session.scalars(select(Material.id)).first()
    url = f"/apply/{order_number}/materials/{material_id}"
    assert client.get(url).status_code == 200
    assert app.test_client().get(url).status_code == 404
    from models import Staff, StaffRole

    staff = Staff(username="rev", display_name="R", role=StaffRole.REVIEWER, password_hash="x")
    db_session.add(staff)
    db_session.flush()
    staff_id = staff.id
    db_session.commit()
    staff_client = app.test_client()
    with staff_client.session_transaction() as session:
        session["_user_id"] = str(staff_id)
        session["_fresh"] = True
    assert staff_client.get(url).status_code == 200
    viewed = db_session.scalars(select(AuditEntry).where(AuditEntry.action == "material.viewed")).all()
    assert [(e.actor, e.target) for e in viewed] == [("staff:rev", f"material:{material_id}")]


@pytest.mark.parametrize("role", ["fulfillment", "finance", "admin"])
def test_staff_who_may_not_see_documents_in_the_console_cannot_through_the_applicant_url(
        app, client, order_number, upload_all, db_session, role):
    from tests.conftest import add_staff, sign_in

    upload_all(order_number)
    material_id = db_session.scalars(select(Material.id)).first()
    staff = add_staff(db_session, role)
    db_session.commit()
    staff_client = app.test_client()
    sign_in(staff_client, staff)
    assert staff_client.get(f"/apply/{order_number}/materials/{material_id}").status_code == 403
    assert staff_client.get(f"/console/orders/{order_number}/materials/{material_id}").status_code == 403
    assert not db_session.scalars(select(AuditEntry).where(AuditEntry.action == "material.viewed")).all()


def test_whole_flow_to_awaiting_payment(client, order_number, upload_all, db_session, latest_sms):
    assert client.post(f"/apply/{order_number}/materials/done").headers["Location"].endswith(
        f"/apply/{order_number}/materials")  # nothing uploaded yet
    upload_all(order_number)
    page = client.get(f"/apply/{order_number}/materials").get_data(as_text=True)
    assert page.count('class="preview"') == len(MATERIAL_KINDS)
    response = client.post(f"/apply/{order_number}/materials/done")
    assert response.headers["Location"].endswith("/signature")
    page = client.get(f"/apply/{order_number}/signature").get_data(as_text=True)
    assert "真实意思表示" in page and "李娜" in page
    client.post(f"/apply/{order_number}/signature/code")
    code = sms_code_in(latest_sms("13912345678"))
    wrong = "000000" if code != "000000" else "111111"
    page = client.post(f"/apply/{order_number}/signature", data={"sms_code": wrong}).get_data(
        as_text=True)
    assert 'data-error-for="sms_code"' in page
    response = client.post(f"/apply/{order_number}/signature", data={"sms_code": code})
    assert response.headers["Location"].endswith("/pay")  # signed: on to the QR code
    order = _order(db_session, order_number)
    assert order.status == OrderStatus.AWAITING_PAYMENT and order.signed_at is not None
    order_id = order.id
    page = client.get(f"/apply/{order_number}/done").get_data(as_text=True)
    assert order_number in page and "3个工作日" in page
    assert 'id="before-payment"' in page and 'id="go-pay"' in page
    actions = [e.action for e in db_session.scalars(select(AuditEntry).where(
        AuditEntry.order_id == order_id).order_by(AuditEntry.id))]
    assert actions[0] == "order.created" and actions.count("order.status") == 2
    # once signed, the submitted data and materials are fixed
    assert client.get(f"/apply/{order_number}/edit").status_code == 302


# --- uploads: what is refused, and no file without its committed row ----------------------------

def _error_for(page: str, kind: str) -> str:
    match = re.search(rf'data-error-for="{kind}">([^<]*)<', page)
    return html.unescape(match.group(1)) if match else ""


@pytest.fixture
def upload_folder(tmp_path, replace_service):
    """The names in a document store of the test's own, empty at the start: its objects are this test's."""
    store = replace_service(DocumentStore, factories.folder_store(tmp_path))
    return lambda: sorted(store.names())


def _post_files(client, number: str, files: dict):
    return client.post(f"/apply/{number}/materials?lang=en", content_type="multipart/form-data",
                       data={kind: (io.BytesIO(data), name) for kind, (data, name) in files.items()})


def test_cut_short_images_are_refused_after_a_pdf_was_rendered(client, order_number, db_session,
                                                                upload_folder):
    """WeasyPrint switches Pillow to fill in grey where data is missing when it is imported."""
    from reports.pdf import get_renderer

    get_renderer().render("<p>发票</p>")
    png, jpeg = image_bytes("PNG", size=(400, 300)), image_bytes("JPEG", size=(400, 300))
    page = _post_files(client, order_number, {"business_licence": (png[: len(png) // 2], "licence.png"),
                                              "agent_id_front": (jpeg[:-100], "front.jpg")}).get_data(as_text=True)
    for kind in ("business_licence", "agent_id_front"):
        assert _error_for(page, kind) == "The file is not a readable image."
    assert db_session.scalars(select(Material)).all() == [] and upload_folder() == []


def test_a_failed_flush_leaves_no_file(client, order_number, db_session, upload_folder):
    """The file is written before the row is flushed; the flush fails, the request rolls back."""
    def database_fails(session, flush_context, instances):
        if any(isinstance(row, Material) for row in session.new):
            raise RuntimeError("the database went away")

    event.listen(Session, "before_flush", database_fails)
    try:
        with pytest.raises(RuntimeError, match="went away"):
            _post_files(client, order_number, {"business_licence": (image_bytes(), "licence.png")})
    finally:
        event.remove(Session, "before_flush", database_fails)
    assert upload_folder() == []
    _post_files(client, order_number, {"business_licence": (image_bytes(), "licence.png")})
    assert upload_folder() == [db_session.scalars(select(Material)).one().stored_name]


def test_a_refused_file_leaves_the_good_ones_of_the_same_post_stored(client, order_number, db_session,
                                                                     upload_folder):
    page = _post_files(client, order_number, {"business_licence": (image_bytes(), "licence.png"),
                                              "agent_id_front": (image_bytes("GIF"), "front.gif")})
    assert _error_for(page.get_data(as_text=True), "agent_id_front") == (
        "Only JPG, JPEG, PNG and BMP images are accepted.")
    material = db_session.scalars(select(Material)).one()
    assert material.kind == "business_licence" and upload_folder() == [material.stored_name]


def test_a_file_name_with_control_characters_is_refused_per_file(client, order_number, db_session,
                                                                 upload_folder):
    """A NUL in a name made PostgreSQL answer 500 and left the files on disk."""
    page = _post_files(client, order_number, {
        "business_licence": (image_bytes(), "licence\x00.png"),
        "agent_id_front": (image_bytes(), "front\u202egnp.exe"),
        "agent_id_back": (image_bytes(), "身份证反面.png"),
    }).get_data(as_text=True)
    for kind in ("business_licence", "agent_id_front"):
        assert "rename the file" in _error_for(page, kind), kind
    material = db_session.scalars(select(Material)).one()
    assert (material.kind, material.original_filename) == ("agent_id_back", "身份证反面.png")
    assert upload_folder() == [material.stored_name]


def test_a_big_image_is_stored_at_most_3508_pixels_long(client, order_number, db_session, upload_folder):
    _post_files(client, order_number, {"business_licence": (image_bytes("JPEG", size=(5000, 2000)), "scan.jpg")})
    material = db_session.scalars(select(Material)).one()
    assert (material.width, material.height) == (3508, 1403)
    served = client.get(f"/apply/{order_number}/materials/{material.id}").data
    assert Image.open(io.BytesIO(served)).size == (3508, 1403)
