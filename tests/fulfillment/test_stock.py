"""The shelf: counts across receive, use, return and write-off; refused receipts store nothing; the
low-stock e-mail goes out once per crossing; the stock page receives keys by their serials."""
from __future__ import annotations

import uuid

import pytest
from sqlalchemy import func, select

from fulfillment import stock
from models import (
    EmailMessage,
    MediaModel,
    StaffRole,
    Station,
    StockItem,
    StockLevel,
    StockMovement,
    StockMovementKind,
    Token,
    TokenState,
)
from tests import factories
from tests.conftest import add_staff, sign_in

# The station's own app, database and CA, with its fixtures (asked for by name below).
from tests.station.conftest import approved, committed, order_of, station_app, station_credential  # noqa: F401
from tests.station.fake_agent import FakeAgent
from web.errors import UserError

ACTOR = "staff:stock-test"


@pytest.fixture
def model(db_session) -> MediaModel:
    code = f"UK-{uuid.uuid4().hex[:6].upper()}"
    media_model = MediaModel(code=code, name=f"测试介质 {code}")
    db_session.add(media_model)
    db_session.flush()
    return media_model


def serials(count: int) -> list[str]:
    return [uuid.uuid4().hex[:16].upper() for _ in range(count)]


def line(session, item: StockItem, media_model: MediaModel | int | None) -> stock.Level:
    wanted = media_model.id if isinstance(media_model, MediaModel) else media_model
    return next(level for level in stock.levels(session)
                if level.item is item and (level.media_model.id if level.media_model else None) == wanted)


def low_mails(session) -> list[EmailMessage]:
    return list(session.scalars(select(EmailMessage).where(EmailMessage.template == "low_stock")
                                .order_by(EmailMessage.id)))


def test_counts_across_receive_use_return_and_write_off(db_session, in_app, model):
    order = factories.paid_order(db_session, "/tmp")
    tokens = stock.receive_keys(db_session, model, ["", *serials(5), "  "], ACTOR)
    assert len(tokens) == 5
    assert all(t.state is TokenState.BLANK and t.media_model is model and t.model == model.code for t in tokens)
    level = line(db_session, StockItem.KEY, model)
    assert (level.on_hand, level.received, level.used, level.low_level) == (5, 5, 0, 20) and level.low

    used = stock.use_key(db_session, tokens[0], order, ACTOR)
    assert used.quantity == -1 and used.kind is StockMovementKind.USED and used.order is order
    assert stock.use_key(db_session, tokens[0], order, ACTOR) is None  # a replayed finish counts once
    level = line(db_session, StockItem.KEY, model)
    assert (level.on_hand, level.received, level.used) == (4, 5, 1)

    with pytest.raises(UserError):  # still on the shelf: nothing to return
        stock.return_key(db_session, tokens[1], ACTOR)
    stock.return_key(db_session, tokens[0], ACTOR, "job given up, key wiped")
    assert line(db_session, StockItem.KEY, model).on_hand == 5

    stock.write_off(db_session, StockItem.KEY, model, 2, ACTOR, "dropped")
    with pytest.raises(UserError, match="Only"):
        stock.write_off(db_session, StockItem.KEY, model, 4, ACTOR, "more than there is")
    level = line(db_session, StockItem.KEY, model)
    assert (level.on_hand, level.received, level.used) == (3, 5, 1)

    before = line(db_session, StockItem.ENVELOPE, None)
    stock.receive_envelopes(db_session, 30, ACTOR)
    stock.use_envelope(db_session, order, ACTOR)
    envelopes = line(db_session, StockItem.ENVELOPE, None)
    assert envelopes.on_hand == before.on_hand + 29 and envelopes.used == before.used + 1


def test_a_key_not_from_the_shelf_is_not_counted(db_session, in_app, model):
    own = Token(serial=serials(1)[0], model="applicant's", media_model=model)
    db_session.add(own)
    db_session.flush()
    assert stock.use_key(db_session, own, None, ACTOR) is None
    with pytest.raises(UserError, match="never received"):
        stock.return_key(db_session, own, ACTOR)
    assert line(db_session, StockItem.KEY, model).on_hand == 0


def test_a_refused_receipt_names_the_serials_and_stores_nothing(db_session, in_app, model):
    known = stock.receive_keys(db_session, model, serials(1), ACTOR)[0].serial
    movements = db_session.scalar(select(func.count()).select_from(StockMovement))
    tokens = db_session.scalar(select(func.count()).select_from(Token))
    fresh = serials(2)
    for typed, named in ([[fresh[0], fresh[1], fresh[0]], fresh[0]], [[fresh[0], known], known],
                         [[fresh[0], "bad serial!"], "bad serial!"], [["x" * 41], "x" * 41], [["", " "], None]):
        with pytest.raises(UserError) as refused:
            stock.receive_keys(db_session, model, typed, ACTOR)
        if named:
            assert named in str(refused.value) and "Nothing was received" in str(refused.value)
    assert db_session.scalar(select(func.count()).select_from(StockMovement)) == movements
    assert db_session.scalar(select(func.count()).select_from(Token)) == tokens


def test_the_low_stock_mail_goes_once_per_crossing(db_session, in_app, model):
    fulfillment = add_staff(db_session, StaffRole.FULFILLMENT)
    admin = add_staff(db_session, StaffRole.ADMIN)
    reviewer = add_staff(db_session, StaffRole.REVIEWER)
    inactive = add_staff(db_session, StaffRole.FULFILLMENT, active=False)
    add_staff(db_session, StaffRole.FULFILLMENT, email=None)
    db_session.add(StockLevel(item=StockItem.KEY, media_model=model, low_level=3))
    db_session.flush()
    keys = stock.receive_keys(db_session, model, serials(5), ACTOR)  # 5 > 3: no alert
    assert low_mails(db_session) == []

    stock.use_key(db_session, keys[0], None, ACTOR)  # 4
    stock.use_key(db_session, keys[1], None, ACTOR)  # 3: at the level
    sent = low_mails(db_session)
    mine = {fulfillment.email, admin.email}
    assert mine <= {mail.to_address for mail in sent}
    assert len([mail for mail in sent if mail.to_address in mine]) == 2
    assert not {reviewer.email, inactive.email} & {mail.to_address for mail in sent}
    assert model.code in sent[-1].subject and "3" in sent[-1].body
    level = stock.level_row(db_session, StockItem.KEY, model)
    assert level.alerted_at is not None

    stock.use_key(db_session, keys[2], None, ACTOR)  # 2: still low, no second mail
    assert len(low_mails(db_session)) == len(sent)

    stock.receive_keys(db_session, model, serials(2), ACTOR)  # 4: above, re-armed
    assert stock.level_row(db_session, StockItem.KEY, model).alerted_at is None
    assert len(low_mails(db_session)) == len(sent)
    stock.write_off(db_session, StockItem.KEY, model, 1, ACTOR, "cracked")  # 3 again: a new mail
    assert len(low_mails(db_session)) == 2 * len(sent)


def test_the_first_low_movement_makes_the_level_row_with_the_default(db_session, in_app):
    stock.use_envelope(db_session, None, ACTOR)
    level = stock.level_row(db_session, StockItem.ENVELOPE, None)
    assert level.low_level == stock.DEFAULT_LOW_LEVEL and level.alerted_at is not None


# --- the page ---------------------------------------------------------------------------------------


def test_fulfillment_receives_keys_through_the_page(client, db_session, login_as, model):
    db_session.commit()
    model_id, code = model.id, model.code
    login_as(StaffRole.FULFILLMENT)
    page = client.get("/console/station/stock")
    assert page.status_code == 200 and code in page.get_data(as_text=True)
    typed = serials(3)
    response = client.post("/console/station/stock/keys", data={"media_model": model_id,
                                                                "serials": "\r\n".join(typed) + "\r\n"})
    assert response.status_code == 302
    page = client.get("/console/station/stock").get_data(as_text=True)
    assert f'data-model="{code}"' in page and typed[0] in page
    assert line(db_session, StockItem.KEY, model_id).on_hand == 3

    again = [typed[1], *serials(1)]
    refused = client.post("/console/station/stock/keys", data={"media_model": model_id, "serials": "\n".join(again)})
    assert refused.status_code == 422
    text = refused.get_data(as_text=True)
    assert typed[1] in text and again[1] in text  # the error names it; what was typed is kept
    assert line(db_session, StockItem.KEY, model_id).on_hand == 3

    response = client.post("/console/station/stock/envelopes", data={"count": "40"})
    assert response.status_code == 302
    response = client.post("/console/station/stock/write-off", data={
        "stock_line": f"key-{model_id}", "quantity": "5", "note": "too many"})
    assert response.status_code == 422 and "too many" in response.get_data(as_text=True)
    response = client.post("/console/station/stock/write-off", data={
        "stock_line": f"key-{model_id}", "quantity": "1", "note": "cracked case"})
    assert response.status_code == 302
    assert line(db_session, StockItem.KEY, model_id).on_hand == 2


# --- the station: a programmed key leaves the shelf -------------------------------------------------------


def test_a_key_from_the_shelf_is_used_when_it_is_programmed(request):
    """Received on the shelf, programmed by the station's agent: one off the shelf, with its order."""
    client = request.getfixturevalue("station_app").test_client()
    run, new_order = request.getfixturevalue("committed"), request.getfixturevalue("approved")
    name, credential = request.getfixturevalue("station_credential")
    key = serials(1)[0]

    def shelve(session):
        media_model = MediaModel(code=f"UK-{uuid.uuid4().hex[:6].upper()}", name="测试介质")
        session.add(media_model)
        stock.receive_keys(session, media_model, [key], ACTOR)
        return media_model.id
    model_id = run(shelve)
    staff = run(lambda session: add_staff(session, StaffRole.FULFILLMENT))
    assert sign_in(client, staff).status_code == 302
    number = new_order()
    agent = FakeAgent(client, credential, [{"serial": key, "label": "", "model": "SoftHSM v2", "blank": True}])
    agent.poll()
    claimed = client.post(f"/console/station/orders/{number}/claim")
    public_id = claimed.headers["Location"].rsplit("/", 1)[-1]
    station_id = run(lambda session: session.scalars(select(Station.id).where(Station.name == name)).one())
    client.post(f"/console/station/jobs/{public_id}/start", data={"station": station_id, "serial": key})
    job = agent.job()
    assert job.media_serial == key and agent.run(job).status_code == 200

    def check(session):
        token = session.scalars(select(Token).where(Token.serial == key)).one()
        movements = session.scalars(select(StockMovement).where(StockMovement.token_id == token.id)
                                    .order_by(StockMovement.id)).all()
        assert [(m.kind, m.quantity) for m in movements] == [(StockMovementKind.RECEIVED, 1),
                                                             (StockMovementKind.USED, -1)]
        assert movements[-1].order_id == order_of(session, number).id
        assert line(session, StockItem.KEY, model_id).on_hand == 0
    run(check)
