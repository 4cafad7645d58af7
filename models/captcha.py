"""The image captcha's answers, kept on the server.

The page carries a random token; the picture fetched for that token sets its answer here
(as an HMAC with a server secret, never in the clear), and a right answer is taken once.
"""
from __future__ import annotations

from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, created, intpk, str64


class CaptchaChallenge(Base):
    __tablename__ = "captcha_challenge"

    id: Mapped[intpk]
    token: Mapped[str64] = mapped_column(unique=True)
    answer_digest: Mapped[str64]
    tries: Mapped[int] = mapped_column(default=0)
    # Old challenges are purged by age.
    created_at: Mapped[created] = mapped_column(index=True)
