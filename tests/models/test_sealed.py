"""ID and bank numbers are encrypted at rest, findable by keyed digest, masked on screen."""
from __future__ import annotations

from sqlalchemy import select, text

from models import IdType, Person, PersonRole
from models.sealed import lookup_digest, mask, mask_numbers_in


def test_id_number_is_stored_encrypted_and_found_by_digest(db_session):
    person = Person(role=PersonRole.AGENT, name="李娜", id_type=IdType.RESIDENT_ID,
                    id_number="110105199003071239", bank_card_number="6222021234567890123")
    db_session.add(person)
    db_session.flush()
    raw = db_session.execute(
        text("SELECT id_number, bank_card_number FROM person WHERE id = :id"), {"id": person.id}
    ).one()
    assert b"110105199003071239" not in bytes(raw[0])
    assert b"6222021234567890123" not in bytes(raw[1])
    db_session.expire_all()
    found = db_session.scalars(
        select(Person).where(Person.id_number_digest == lookup_digest("110105199003071239"))
    ).one()
    assert found.id_number == "110105199003071239"
    assert found.id_number_masked == "1101**********1239"


def test_masking():
    assert mask("6222021234567890123", 4, 4) == "6222***********0123"
    assert mask_numbers_in("工行郑州分行 6222021234567890123 电话 0371") == (
        "工行郑州分行 6222***********0123 电话 0371")
