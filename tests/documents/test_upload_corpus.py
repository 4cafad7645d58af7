"""Every way a user has to upload a file gets the whole hostile corpus (tests/documents/upload_corpus.py):
each file is refused with a clear message in the page's language, keeping nothing, or kept only
re-encoded under a name of the store's own, and served back as an image; never a 5xx.

The ways are found in the code: every view that reads an uploaded file (`request.files`) or checks an
image. A new one fails `test_every_upload_way_is_in_the_corpus_run` until it has an entry in WAYS.
"""
from __future__ import annotations

import functools
import hashlib
import html
import inspect
import io
import mimetypes
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from babel import Locale
from babel.support import Translations
from PIL import Image
from sqlalchemy import select

from billing import transfers
from documents.storage import DocumentStore
from models import BusinessType, Channel, Material, MaterialKind, Order, StaffRole
from models.base import utcnow
from models.business import MATERIALS, PERSONAL_MATERIALS
from public import catalogue
from public import operations as public_operations
from review import operations as review_operations
from tests import factories
from tests.conftest import add_staff, sign_in
from tests.documents.upload_corpus import CORPUS, FORBIDDEN_IN_STORED, JPEG_WITH_ZIP, NOT_ACCEPTED, Upload

SECRET = "the-corpus-applicant's-browser"
TRANSLATIONS = Path(__file__).resolve().parents[2] / "translations"
# What marks a view that takes an uploaded file.
TAKES_UPLOADS = ("request.files", "check_image(", "_receive_uploads(")


@dataclass
class Target:
    """One way to upload, opened for a fresh order: `send(upload, lang)` posts a file of `kind`."""

    order_id: int
    number: str
    kind: MaterialKind
    send: Callable[[Upload, str], object]
    refused_status: int
    kept_status: int
    message: Callable[[object], str]
    # The applicant's own preview of a kept file (the upload pages of the browser that owns the order).
    previewed: bool = True


@dataclass(frozen=True)
class Way:
    open: Callable[..., Target]
    sends_names: bool = True  # the API's PUT carries the file alone
    localised: bool = True  # the API answers in English, its language


def _owned_by_the_test_browser(client, db_session, order: Order) -> None:
    """The order is the test browser's, as if it had filed it; committed."""
    order.applicant_session_hash = public_operations.session_hash(SECRET)
    db_session.commit()  # before the session's request context, whose end closes the test's session
    with client.session_transaction() as session:
        session["applicant"] = SECRET


def _page_error(kind: MaterialKind) -> Callable[[object], str]:
    def message(response) -> str:
        match = re.search(rf'data-error-for="{kind.value}">([^<]*)<', response.get_data(as_text=True))
        return html.unescape(match.group(1)) if match else ""

    return message


def _poster(client, url: str, kind: MaterialKind):
    def send(upload: Upload, lang: str):
        return client.post(f"{url}?lang={lang}", content_type="multipart/form-data",
                           data={kind.value: (io.BytesIO(upload.content), upload.filename)})

    return send


def _form_target(client, order: Order, url: str, kind: MaterialKind, *, kept_status: int = 302,
                 previewed: bool = True) -> Target:
    return Target(order.id, order.number, kind, _poster(client, url, kind), 200, kept_status, _page_error(kind),
                  previewed)


def _new_order(db_session, *, channel: str = "direct", business_type: BusinessType = BusinessType.NEW,
               data: dict | None = None) -> Order:
    return public_operations.submit_application(
        db_session, db_session.scalars(select(Channel).filter_by(code=channel)).one(),
        data or factories.application(), actor="applicant:test", applicant_secret=None, business_type=business_type)


def materials_page(client, db_session, store) -> Target:
    """The upload page of an application (any business type: see the test of each below)."""
    order = _new_order(db_session)
    _owned_by_the_test_browser(client, db_session, order)
    return _form_target(client, order, f"/apply/{order.number}/materials", MaterialKind.BUSINESS_LICENCE)


def more_materials(client, db_session, store) -> Target:
    """The link a reviewer's request for a document again sends; it needs no session."""
    order = factories.paid_order(db_session, store)
    reviewer = add_staff(db_session, StaffRole.REVIEWER)
    review_operations.claim_order(db_session, order, reviewer)
    token = review_operations.request_materials(db_session, order, reviewer, kinds=[MaterialKind.BUSINESS_LICENCE],
                                                message="请加盖公章", public_base_url="http://localhost")
    db_session.commit()
    # The only document asked for: once it is in, the page thanks the applicant (200).
    return _form_target(client, order, f"/apply/{order.number}/more/{token}", MaterialKind.BUSINESS_LICENCE,
                        kept_status=200, previewed=False)


def payment_proof(client, db_session, store) -> Target:
    """A new payment proof after finance refused the last one (a replacement paid by transfer)."""
    order = factories.unpaid_order(db_session, store, business_type=BusinessType.REPLACEMENT)
    finance = add_staff(db_session, StaffRole.FINANCE)
    transfers.refuse_proof(db_session, order, "金额与到账记录不符", finance, now=utcnow())
    _owned_by_the_test_browser(client, db_session, order)
    return _form_target(client, order, f"/apply/{order.number}/payment-proof", MaterialKind.PAYMENT_PROOF)


def channel_api(client, db_session, store) -> Target:
    """A channel's server PUTs the file's bytes (no name, no form), under the media type its name
    suggests: a wrong extension is a wrong Content-Type here."""
    channel, key = catalogue.create_channel(db_session, "语料渠道", "corpus")
    order = _new_order(db_session, channel=channel.code)
    db_session.commit()
    kind = MaterialKind.BUSINESS_LICENCE

    def send(upload: Upload, lang: str):
        return client.put(f"/api/v1/applications/{order.number}/materials/{kind.value}?lang={lang}",
                          data=upload.content, headers={"Authorization": f"Bearer {key}"},
                          content_type=mimetypes.guess_type(upload.filename)[0] or "application/octet-stream")

    def message(response) -> str:
        return response.get_json()["errors"][0]["message"]

    return Target(order.id, order.number, kind, send, 422, 200, message, previewed=False)


# Every view that takes an uploaded file, by endpoint.
WAYS = {
    "public.materials_page": Way(materials_page),
    "public.more_materials": Way(more_materials),
    "public.payment_proof": Way(payment_proof),
    "api.upload_material": Way(channel_api, sends_names=False, localised=False),
}


def test_every_upload_way_is_in_the_corpus_run(app):
    takes_uploads = {endpoint for endpoint, view in app.view_functions.items()
                     if any(marker in inspect.getsource(inspect.unwrap(view)) for marker in TAKES_UPLOADS)}
    assert takes_uploads, "no view that takes an upload was found: the markers no longer match the code"
    assert takes_uploads == set(WAYS), "a view takes uploads: add it to WAYS (or remove one that no longer does)"


# --- the corpus on every way ---------------------------------------------------------------------

@functools.cache
def _translations(lang: str) -> Translations:
    return Translations.load(str(TRANSLATIONS), [Locale.parse(lang)])


def _in(lang: str, message: str) -> str:
    return _translations(lang).gettext(message)


@pytest.fixture
def store(tmp_path, replace_service) -> DocumentStore:
    """A document store of the test's own: its objects are this test's."""
    return replace_service(DocumentStore, factories.folder_store(tmp_path))


@pytest.fixture
def reviewer_browser(app, db_session):
    """A reviewer signed in on a browser of their own (the applicant's is `client`)."""
    reviewer = add_staff(db_session, StaffRole.REVIEWER)
    db_session.commit()
    browser = app.test_client()
    assert sign_in(browser, reviewer).status_code == 302
    return browser


def _opened(way: Way, app, client, db_session, store) -> Target:
    """The way opened for a new order. In the app's context, as a request has it (messages queued on
    the way render with its settings); left before the requests, which then have contexts of their own
    (the page's language is chosen in each). Every way commits what it made, so leaving loses nothing."""
    with app.app_context():
        return way.open(client, db_session, store)


def _materials(db_session, order_id: int) -> list[tuple]:
    """The order's material rows as they stand (a refused upload neither adds nor supersedes one)."""
    return db_session.execute(select(Material.id, Material.kind, Material.stored_name, Material.superseded_at)
                              .where(Material.order_id == order_id).order_by(Material.id)).all()


def _latest_material(db_session, order_id: int) -> Material:
    db_session.expire_all()
    return db_session.scalars(select(Material).where(Material.order_id == order_id)
                              .order_by(Material.id.desc())).first()


def _typed(db_session, order_id: int) -> tuple:
    """What the applicant entered and where the order stands."""
    db_session.expire_all()
    order = db_session.get(Order, order_id)
    return order.status, order.holder_name, order.agent.phone, order.mailing_address


def _cases():
    for endpoint, way in WAYS.items():
        for upload in CORPUS:
            if way.sends_names or not upload.about_the_name:
                yield pytest.param(endpoint, upload, id=f"{endpoint}-{upload.label}")


@pytest.mark.parametrize("endpoint, upload", list(_cases()))
def test_a_hostile_upload_is_refused_with_a_message_or_kept_only_re_encoded(
        endpoint, upload, app, client, db_session, store, request):
    way = WAYS[endpoint]
    target = _opened(way, app, client, db_session, store)
    rows, objects, typed = _materials(db_session, target.order_id), set(store.names()), _typed(db_session,
                                                                                                target.order_id)
    if upload.refused:
        for lang in ("zh_CN", "en") if way.localised else ("en",):
            answer = target.send(upload, lang)
            assert answer.status_code == target.refused_status, (lang, answer.status_code)
            assert target.message(answer) == _in(lang, upload.refused), lang
        # Nothing kept: no row, no object in the store; the order as it was.
        assert _materials(db_session, target.order_id) == rows
        assert set(store.names()) == objects
        assert _typed(db_session, target.order_id) == typed
        return

    answer = target.send(upload, "en")
    assert answer.status_code == target.kept_status, answer.get_data(as_text=True)[:500]
    material = _latest_material(db_session, target.order_id)
    assert material.id not in {row.id for row in rows} and material.kind == target.kind
    assert set(store.names()) - objects == {material.stored_name}
    # The store's own name, never the applicant's.
    assert re.fullmatch(r"materials/[0-9a-f]{32}", material.stored_name)
    assert material.original_filename == (upload.kept_name if way.sends_names else None)
    assert material.original_filename is None or len(material.original_filename) <= 120
    stored = store.read(material.stored_name)
    _assert_only_an_image(stored, material, upload.stored_type)

    # What the reviewer downloads, and the applicant's preview: the image, and nothing a browser would sniff.
    material_id, content_type = material.id, material.content_type  # requests end the session's objects
    urls = [f"/console/orders/{target.number}/materials/{material_id}"]
    browsers = [request.getfixturevalue("reviewer_browser")]
    if target.previewed:
        urls.append(f"/apply/{target.number}/materials/{material_id}")
        browsers.append(client)
    for browser, url in zip(browsers, urls, strict=True):
        served = browser.get(url)
        assert served.status_code == 200, url
        assert served.mimetype == content_type and served.headers["X-Content-Type-Options"] == "nosniff"
        assert served.data == stored


def _assert_only_an_image(stored: bytes, material: Material, content_type: str) -> None:
    """Re-encoded: an image of the accepted formats and nothing else (no ZIP, no markup)."""
    with Image.open(io.BytesIO(stored)) as image:
        image.load()
        assert Image.MIME[image.format] == material.content_type == content_type
        assert (image.width, image.height) == (material.width, material.height)
    lowered = stored.lower()
    assert not [marker for marker in FORBIDDEN_IN_STORED if marker.lower() in lowered]
    assert hashlib.sha256(stored).hexdigest() == material.sha256


# --- every order that asks for documents -----------------------------------------------------------

def _orders_with_documents():
    found = [(personal, business_type) for personal, table in ((False, MATERIALS), (True, PERSONAL_MATERIALS))
             for business_type, kinds in table.items() if kinds]
    assert found, "no business type asks for documents"
    return [pytest.param(personal, business_type, id=f"{'personal' if personal else 'unit'}-{business_type}")
            for personal, business_type in found]


@pytest.mark.parametrize("personal, business_type", _orders_with_documents())
def test_every_document_of_every_order_is_checked_alike(personal, business_type, client, db_session, store):
    """The first document a ZIP, the others a JPEG with a ZIP appended: one refused, the others kept
    re-encoded, in the one post."""
    order = _new_order(db_session, business_type=business_type,
                       data=factories.personal_application() if personal else None)
    order_id, number, kinds = order.id, order.number, (PERSONAL_MATERIALS if personal else MATERIALS)[business_type]
    _owned_by_the_test_browser(client, db_session, order)
    first, *others = kinds
    files = {first.value: (io.BytesIO(b"PK\x03\x04" + bytes(100)), "licence.jpg"),
             **{kind.value: (io.BytesIO(JPEG_WITH_ZIP), f"{kind.value}.jpg") for kind in others}}
    page = client.post(f"/apply/{number}/materials?lang=en", content_type="multipart/form-data", data=files)
    assert page.status_code == 200
    assert _page_error(first)(page) == NOT_ACCEPTED
    db_session.expire_all()
    kept = db_session.scalars(select(Material).where(Material.order_id == order_id)).all()
    assert sorted(m.kind for m in kept) == sorted(others)
    assert set(store.names()) == {m.stored_name for m in kept}
    for material in kept:
        _assert_only_an_image(store.read(material.stored_name), material, "image/jpeg")


# --- the request's own limit ------------------------------------------------------------------------

@pytest.mark.parametrize("endpoint", list(WAYS))
def test_a_request_over_the_body_limit_gets_a_clear_message_and_keeps_nothing(
        endpoint, app, client, db_session, store):
    way = WAYS[endpoint]
    target = _opened(way, app, client, db_session, store)
    rows, objects = _materials(db_session, target.order_id), set(store.names())
    too_big = Upload("over the request's limit", "big.png", bytes(app.config["MAX_CONTENT_LENGTH"] + 1))
    for lang in ("zh_CN", "en") if way.localised else ("en",):
        answer = target.send(too_big, lang)
        assert answer.status_code == 413
        if way.localised:
            message = html.unescape(re.search(r'id="error-message">([^<]*)<',
                                              answer.get_data(as_text=True)).group(1))
            assert message == _in(lang, "What you sent is too large: each material may be at most %(each)s MB, "
                                        "and one upload at most %(total)s MB in all. Please go back and send "
                                        "fewer or smaller files at a time.") % {"each": "1.5", "total": "8"}
        else:
            assert answer.get_json() == {"error": "the request body is too large"}
    assert _materials(db_session, target.order_id) == rows and set(store.names()) == objects
