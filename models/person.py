"""People named in an application: the legal representative and the agent, or a personal
certificate's holder."""
from __future__ import annotations

import enum

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column, validates

from models.base import Base, digest, enum_type, intpk, str20, str120, str255
from models.sealed import SealedText, lookup_digest, mask, subject_serial


class PersonRole(enum.StrEnum):
    LEGAL_REP = "legal_rep"
    AGENT = "agent"
    HOLDER = "holder"  # a personal certificate's applicant and holder (in the order's agent place)


class IdType(enum.StrEnum):
    RESIDENT_ID = "resident_id"
    PASSPORT = "passport"
    MILITARY_OFFICER = "military_officer"
    TAIWAN_PERMIT = "taiwan_permit"
    HOME_RETURN_PERMIT = "home_return_permit"


class Person(Base):
    __tablename__ = "person"

    id: Mapped[intpk]
    role: Mapped[PersonRole] = mapped_column(enum_type(PersonRole, 20))
    name: Mapped[str120]
    phone: Mapped[str20 | None] = mapped_column(index=True)
    email: Mapped[str255 | None]
    id_type: Mapped[IdType | None] = mapped_column(enum_type(IdType, 20))
    id_number: Mapped[str | None] = mapped_column(SealedText("person.id_number"))
    id_number_digest: Mapped[digest | None]
    bank_card_number: Mapped[str | None] = mapped_column(SealedText("person.bank_card_number"))
    # What a personal certificate's subject names the holder by instead of the ID number
    # (models.sealed.subject_serial of the ID type and number).
    subject_serial: Mapped[str | None] = mapped_column(String(40), index=True)

    @validates("id_number")
    def _digest_id_number(self, _key: str, value: str | None) -> str | None:
        self.id_number_digest = lookup_digest(value) if value else None
        self._set_subject_serial(self.id_type, value)
        return value

    @validates("id_type")
    def _serial_of_type(self, _key: str, value: IdType | None) -> IdType | None:
        self._set_subject_serial(value, self.id_number)
        return value

    def _set_subject_serial(self, id_type, id_number) -> None:
        self.subject_serial = subject_serial(str(id_type), id_number) if id_type and id_number else None

    @property
    def id_number_masked(self) -> str:
        return mask(self.id_number, 4, 4)

    @property
    def phone_masked(self) -> str:
        return mask(self.phone, 3, 4)

    @property
    def bank_card_masked(self) -> str:
        return mask(self.bank_card_number, 4, 4)


