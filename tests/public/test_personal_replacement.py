"""Replacing a personal certificate's lost or damaged key (补办): the holder's ID and the order
query's SMS code, then the personal application form refilled, the ID card both sides with the
payment proof, and the SMS signature."""
from __future__ import annotations

import io
import re

import pytest
from sqlalchemy import select

from models import BusinessType, MaterialKind, Order, OrderStatus, PersonRole, RevocationReason
from tests import factories
from tests.conftest import image_bytes, sms_code_in, solve_captcha
from tests.public.test_order_query import ask
from tests.public.test_replacement import MEDIA_SERIAL, keyed_order


@pytest.fixture
def earlier(app, db_session):
    """A completed personal order with its certificate: (number, holder's ID number, phone), committed."""
    order = keyed_order(app, db_session, **factories.personal_application())
    assert order.personal
    facts = order.number, order.holder.id_number, order.holder.phone
    db_session.commit()
    return facts


@pytest.fixture
def verified(client, latest_sms, earlier):
    """The order query for a personal certificate by the holder's resident ID, its SMS code entered."""
    number, id_number, phone = earlier
    client.get("/query?lang=en")
    asked = ask(client, id_number, phone, cert_kind="personal", id_type="resident_id")
    assert asked.headers["Location"].endswith("/query/verify")
    assert client.post("/query/verify", data={"sms_code": sms_code_in(latest_sms(phone))}).status_code == 302
    return earlier


def _order(db_session, number: str) -> Order:
    db_session.expire_all()
    return db_session.scalars(select(Order).where(Order.number == number)).one()


def _input_value(page: str, name: str) -> str:
    return re.search(rf'name="{name}"[^>]*value="([^"]*)"|value="([^"]*)"[^>]*name="{name}"', page).group(1)


def test_the_personal_form_is_refilled_with_the_transfer_to_make(client, verified):
    number, id_number, phone = verified
    page = client.get(f"/replacement/{number}?lang=en").get_data(as_text=True)
    assert _input_value(page, "agent_id_number") == id_number and _input_value(page, "agent_name") == "王小明"
    assert "org_name" not in page and "credit_code" not in page and "Certificate holder" in page
    assert MEDIA_SERIAL in page.split('id="replaced-certificate"')[1].split("</section>")[0]
    transfer = page.split('id="transfer-instructions"')[1].split("</section>")[0]
    assert "your name" in transfer and "organisation" not in transfer
    assert transfer.count('class="price">250.00<') == 3 and 'name="cause"' in page


def test_a_personal_replacement_from_form_to_signature(client, db_session, verified, latest_sms):
    number, id_number, _ = verified
    url = f"/replacement/{number}"
    phone = "13700002222"  # the holder's new phone (the earlier one just had the query code)
    data = {**factories.personal_application(agent_id_number=id_number, agent_phone=phone), "consent": "y",
            "cause": "damaged", **solve_captcha(client, url)}
    refused = client.post(url, data={**data, "agent_id_number": "110105194912310021"})
    assert refused.status_code == 200 and 'data-error-for="agent_id_number"' in refused.get_data(as_text=True)
    data.update(solve_captcha(client, url))
    response = client.post(url, data=data)
    assert response.status_code == 302, response.get_data(as_text=True)[:800]
    new_number = response.headers["Location"].rsplit("/", 1)[-1]
    order, before = _order(db_session, new_number), _order(db_session, number)
    assert new_number[8] == "P" and order.personal and order.business_type is BusinessType.REPLACEMENT
    assert order.previous_order_id == before.id and order.certificate.media_serial == MEDIA_SERIAL
    assert order.organisation is None and order.holder.role is PersonRole.HOLDER
    assert order.holder.subject_serial == before.holder.subject_serial
    assert order.revocation_reason == RevocationReason.SUPERSEDED and order.price_cents == 25000

    edit = client.get(f"/apply/{new_number}/edit")
    assert edit.headers["Location"] == f"/replacement/orders/{new_number}/edit"
    page = client.get(edit.headers["Location"]).get_data(as_text=True)
    assert _input_value(page, "agent_phone") == phone and "org_name" not in page

    materials = client.get(f"/apply/{new_number}/materials").get_data(as_text=True)
    assert [kind for kind in MaterialKind if f'name="{kind.value}"' in materials] == [
        MaterialKind.AGENT_ID_FRONT, MaterialKind.AGENT_ID_BACK, MaterialKind.PAYMENT_PROOF]
    client.post(f"/apply/{new_number}/materials", content_type="multipart/form-data",
                data={kind: (io.BytesIO(image_bytes()), f"{kind}.png")
                      for kind in ("agent_id_front", "agent_id_back", "payment_proof")})
    assert client.post(f"/apply/{new_number}/materials/done").headers["Location"].endswith("/signature")
    client.post(f"/apply/{new_number}/signature/code")
    signed = client.post(f"/apply/{new_number}/signature", data={"sms_code": sms_code_in(latest_sms(phone))})
    assert signed.headers["Location"].endswith(f"/apply/{new_number}/done")  # finance matches the transfer
    assert _order(db_session, new_number).status is OrderStatus.AWAITING_PAYMENT
