"""The order's audit page reads as sentences (who did what, when, in the staff member's language),
each entry's raw record folded away in a <details>; every action the product writes has its own
sentence, an unknown one a fallback that keeps it."""
from __future__ import annotations

import ast
import html
import re
from pathlib import Path
from types import SimpleNamespace

import pytest

from models import Order, StaffRole, record
from models.base import utcnow
from review import audit_sentences
from review.audit_sentences import SENTENCES, sentence
from tests import factories
from tests.conftest import add_staff

ROOT = Path(__file__).resolve().parents[2]
# The packages that write audit entries (and the rest of the product, so none is missed).
WRITERS = ("models", "review", "station", "issuance", "billing", "public", "fulfillment", "web", "finance",
           "backoffice", "notifications", "documents", "reports")


def _entry(action, actor="system", *, before=None, after=None, note=None, target=None):
    return SimpleNamespace(action=action, actor=actor, before=before, after=after, note=note, target=target,
                           seq=1, at=utcnow(), entry_hash="0" * 64)


@pytest.fixture
def speak(app):
    """speak(entry, lang, names={}) -> the entry's sentence in that language."""
    def speak(entry, lang: str, names: dict[str, str] | None = None) -> str:
        with app.test_request_context(f"/?lang={lang}"):
            return sentence(entry, names or {})
    return speak


SAMPLES = [
    (_entry("order.status", "staff:wang", before={"status": "paid"}, after={"status": "in_review"}, note="claimed"),
     "Wang Fang claimed the order for review.", "王芳领取了订单进行审核。"),
    (_entry("order.status", "applicant:abc", before={"status": "awaiting_signature"},
            after={"status": "awaiting_payment"}),
     "The applicant moved the order from “Awaiting signature” to “Awaiting payment”.",
     "申请人将订单从“待签名确认”改为“待支付”。"),
    (_entry("order.status", "system:payment-window", before={"status": "awaiting_payment"},
            after={"status": "cancelled"}, note="unpaid after 1 day"),
     "The system moved the order from “Awaiting payment” to “Cancelled”. Note: unpaid after 1 day",
     "系统将订单从“待支付”改为“已取消”。备注：unpaid after 1 day"),
    (_entry("order.status", "staff:wang", before={"status": "in_review"}, after={"status": "rejected"},
            note="营业执照不清晰; "),
     "Wang Fang rejected the order: 营业执照不清晰", "王芳驳回了订单：营业执照不清晰"),
    (_entry("order.reassigned", "staff:lead", before={"reviewer": "wang"}, after={"reviewer": "li"}),
     "Chief Lead reassigned the order from Wang Fang to li.", "Chief Lead将订单从王芳改派给li。"),
    (_entry("order.created", "applicant:abc", after={"status": "awaiting_materials", "number": "A100"}),
     "The applicant created the order A100.", "申请人创建了订单 A100。"),
    (_entry("order.number_revealed", "staff:wang", after={"field": "agent_id_number"}),
     "Wang Fang revealed the agent's ID number.", "王芳查看了完整的经办人证件号码。"),
    (_entry("token.state", "station:bench-2", target="token:K42", before={"state": "bound"},
            after={"state": "programmed"}, note="certificate 0a1b"),
     "Station bench-2 moved key K42 from “Bound to an order” to “Programmed”. Note: certificate 0a1b",
     "工作站 bench-2将介质 K42 从“已绑定订单”改为“已制证”。备注：certificate 0a1b"),
    (_entry("order.status", "courier:sf", before={"status": "shipped"}, after={"status": "completed"},
            note="delivered, SF SF123"),
     "Courier sf moved the order from “Shipped” to “Completed”. Note: delivered, SF SF123",
     "快递 sf将订单从“已发货”改为“已完成”。备注：delivered, SF SF123"),
    (_entry("certificate.issue", "signing-service", target="certificate:0a1b", after={"serial": "0a1b"}),
     "The signing service issued certificate 0a1b.", "签名服务签发了证书 0a1b。"),
    (_entry("refund.proposed", "staff:wang", after={"reason": "rejected", "amount_cents": 12050}),
     "Wang Fang proposed a refund of 120.50 yuan (Application rejected).",
     "王芳提出退款 120.50 元（申请未通过审核）。"),
    (_entry("invoice.voided", "staff:wang", target="invoice:INV9", note="wrong title"),
     "Wang Fang voided invoice INV9. Note: wrong title", "王芳作废了发票 INV9。备注：wrong title"),
]


@pytest.mark.parametrize(("entry", "english", "chinese"), SAMPLES, ids=lambda v: getattr(v, "action", None))
def test_a_representative_entry_reads_as_a_sentence_in_either_language(speak, entry, english, chinese):
    names = {"wang": "Wang Fang", "lead": "Chief Lead"}
    assert speak(entry, "en", names) == english
    assert speak(entry, "zh_CN", {"wang": "王芳", "lead": "Chief Lead"}) == chinese


def test_an_unknown_action_is_kept_by_the_fallback(speak):
    entry = _entry("order.teleported", "staff:wang")
    assert speak(entry, "en", {"wang": "Wang Fang"}) == "Wang Fang: order.teleported"
    assert speak(entry, "zh_CN", {"wang": "王芳"}) == "王芳：order.teleported"
    assert speak(_entry("order.teleported", "robot:9"), "en") == "robot:9: order.teleported"


def test_a_staff_member_missing_from_the_names_is_named_by_username(speak):
    assert speak(_entry("order.viewed", "staff:gone"), "en") == "gone opened the order."


def _written_actions() -> dict[str, str]:
    """action -> where: every action string the product passes to `record(...)`, `AuditEntry(action=...)`
    or a helper that records it (`_queue(..., "job.started")`), named constants resolved."""
    found: dict[str, str] = {}
    for package in WRITERS:
        for path in sorted((ROOT / package).rglob("*.py")):
            tree = ast.parse(path.read_text(encoding="utf-8"))
            constants = {target.id: node.value.value for node in tree.body if isinstance(node, ast.Assign)
                         and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str)
                         for target in node.targets if isinstance(target, ast.Name)}
            for node in ast.walk(tree):
                if not isinstance(node, ast.Call):
                    continue
                name = getattr(node.func, "id", None) or getattr(node.func, "attr", None)
                keywords = {k.arg: k.value for k in node.keywords}
                if name == "record" and len(node.args) >= 3:
                    action = node.args[2]
                elif name in ("AuditEntry", "_Entry") and "action" in keywords:
                    action = keywords["action"]
                elif name == "_queue" and len(node.args) >= 4 and path.parts[-2] == "station":
                    action = node.args[3]
                else:
                    continue
                for part in ast.walk(action):
                    value = part.value if isinstance(part, ast.Constant) else constants.get(getattr(part, "id", ""))
                    if isinstance(value, str) and re.fullmatch(r"[a-z_]+\.[a-z_]+", value):
                        found.setdefault(value, f"{path.relative_to(ROOT)}:{node.lineno}")
    return found


def test_the_scan_finds_the_actions_of_every_writing_package():
    found = _written_actions()
    assert {"order.status", "token.state", "order.created", "material.uploaded", "order.number_revealed",
            "job.started", "job.wiped", "station.credential_issued", "station.credential_rotated",
            "certificate.issue", "invoice.issued", "refund.proposed", "order.password_card_printed",
            "stock.received", "audit.restore_acknowledged", "staff.login", "admin.change"} <= set(found)
    assert {where.split("/")[0] for where in found.values()} >= {
        "models", "review", "station", "issuance", "billing", "public", "fulfillment"}


def test_every_action_the_product_writes_has_its_own_sentence(speak):
    found = _written_actions()
    missing = {action: where for action, where in found.items() if action not in SENTENCES}
    assert not missing, f"actions with no sentence (add them to review.audit_sentences.SENTENCES): {missing}"
    for action in found:  # an entry with nothing but its action still reads, and not as the fallback
        for lang in ("en", "zh_CN"):
            text = speak(_entry(action), lang)
            assert text and ": " + action not in text and "：" + action not in text, (action, text)


def test_the_staff_names_are_looked_up_once_for_the_page(app, db_session):
    add_staff(db_session, StaffRole.REVIEWER, "wang", display_name="Wang Fang")
    add_staff(db_session, StaffRole.SENIOR_REVIEWER, "li", display_name="Li Lei")
    entries = [_entry("order.viewed", "staff:wang"), _entry("staff.unlocked", "cli", target="staff:li"),
               _entry("order.reassigned", "staff:nobody", before={"reviewer": "li"}, after={"reviewer": "wang"})]
    assert audit_sentences.staff_names(db_session, entries) == {"wang": "Wang Fang", "li": "Li Lei"}


def _items(page: str) -> list[str]:
    return re.findall(r'<li class="audit-entry.*?</li>', page, re.S)


def _sentences(page: str) -> list[str]:
    return [html.unescape(s).strip() for s in re.findall(r'<span class="audit-sentence">(.*?)</span>', page, re.S)]


def test_the_audit_page_reads_as_sentences_with_the_raw_record_folded_away(app, client, login_as, db_session):
    order = factories.paid_order(db_session, app.config["UPLOAD_FOLDER"])
    number, order_id = order.number, order.id
    db_session.commit()
    senior = login_as(StaffRole.SENIOR_REVIEWER)
    display = senior.display_name
    assert client.post(f"/console/orders/{number}/claim").status_code == 302
    record(db_session, "staff:" + senior.username, "order.teleported", order=db_session.get(Order, order_id),
           note="<b>beamed</b>")
    db_session.commit()

    page = client.get(f"/console/orders/{number}/audit?lang=en").get_data(as_text=True)
    sentences = _sentences(page)
    assert f"{display} claimed the order for review." in sentences
    assert "The applicant moved the order from “Awaiting payment” to “Paid, waiting for review”." in sentences
    assert f"{display}: order.teleported" == sentences[0], "the newest first; the unknown action kept"
    assert "<b>beamed</b>" not in page and "&lt;b&gt;beamed&lt;/b&gt;" in page, "a note is text, not markup"
    assert re.search(r"\d{4}-\d\d-\d\d \d\d:\d\d</time>", page), "each entry with its (Beijing) time"
    first = _items(page)[0]
    details = re.search(r"<details.*?</details>", first, re.S).group(0)
    assert "<summary" in details and "Raw record" in details
    for raw in ("order.teleported", f"staff:{senior.username}", "&lt;b&gt;beamed&lt;/b&gt;"):
        assert raw in details, raw
    claimed = next(item for item in _items(page) if "claimed the order" in item)
    details = re.search(r"<details.*?</details>", claimed, re.S).group(0)
    assert "order.status" in details and "in_review" in details and "claimed" in details
    assert re.search(r"[0-9a-f]{64}", details), "the entry's hash, whole, inside the folded record"

    chinese = client.get(f"/console/orders/{number}/audit?lang=zh_CN").get_data(as_text=True)
    assert f"{display}领取了订单进行审核。" in _sentences(chinese)
    assert "申请人将订单从“待支付”改为“已支付（待审核）”。" in _sentences(chinese)
    assert "原始记录" in chinese


def test_the_audit_page_filters_by_action_and_by_actor(app, client, login_as, db_session):
    order = factories.paid_order(db_session, app.config["UPLOAD_FOLDER"])
    number = order.number
    db_session.commit()
    senior = login_as(StaffRole.SENIOR_REVIEWER)
    client.post(f"/console/orders/{number}/claim")
    url = f"/console/orders/{number}/audit?lang=en"

    everything = _items(client.get(url).get_data(as_text=True))
    created = _items(client.get(url + "&action=order.created").get_data(as_text=True))
    assert len(created) == 1 < len(everything) and 'data-action="order.created"' in created[0]

    by_applicant = _items(client.get(url + "&actor=applicant").get_data(as_text=True))
    assert by_applicant and all("applicant:" in item for item in by_applicant)
    by_staff = _items(client.get(url + f"&actor=staff:{senior.username}").get_data(as_text=True))
    by_name = _items(client.get(url + f"&actor={senior.display_name}").get_data(as_text=True))
    assert by_staff and by_staff == by_name, "the actor filter takes the display name the sentences show"
    assert all(f"staff:{senior.username}" in item for item in by_staff)
    both = _items(client.get(url + f"&actor=staff:{senior.username}&action=order.status").get_data(as_text=True))
    assert len(both) == 1 and "claimed the order for review." in both[0]
