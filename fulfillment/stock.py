"""The shelf: blank keys per key model (each by its serial) and password card envelopes, received
from the supplier, used for orders, returned and written off. The stock of an item is the sum of
its movements; at or below its low level (StockLevel, set by admin, 20 by default) fulfillment and
the admins are e-mailed once, and again only after the stock was back above it.

Operations flush and never commit; the request's (or command's) unit of work does. The e-mail is
queued in the outbox, which a worker delivers once committed."""
from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import case, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from models import (
    MediaModel,
    Order,
    Staff,
    StaffRole,
    StockItem,
    StockLevel,
    StockMovement,
    StockMovementKind,
    Token,
    TokenState,
    record,
)
from models.base import update_if, utcnow
from models.business_time import BUSINESS_TZ
from notifications.messages import render_email
from notifications.outbox import queue_email
from web.errors import N_, UserError

DEFAULT_LOW_LEVEL = 20
MAX_KEYS_PER_RECEIPT = 1000
MAX_QUANTITY = 100_000
# A key's serial (介质号) as a barcode scanner types it: letters, digits, dot, dash, underscore, colon.
SERIAL = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,39}$")
_LISTED = 20  # serials named in a refusal; the rest are counted

Kind = StockMovementKind


@dataclass(frozen=True)
class Level:
    """One line of the shelf: an item (a key model, or the envelopes) and its counts."""

    item: StockItem
    media_model: MediaModel | None
    on_hand: int
    received: int
    used: int
    low_level: int

    @property
    def low(self) -> bool:
        return self.on_hand <= self.low_level


# --- receiving ------------------------------------------------------------------------------------


def receive_keys(session: Session, media_model: MediaModel, serials: Iterable[str], actor: str) -> list[Token]:
    """Blank keys of `media_model` onto the shelf, one per serial: a Token each (blank) and one
    RECEIVED movement per key. Lines left blank are skipped (a scanner's extra Enter). Serials that
    are malformed, repeated in the list or already known to the CA are refused, all of them named,
    and nothing is stored."""
    typed = [serial.strip() for serial in serials]
    typed = [serial for serial in typed if serial]
    if not typed:
        raise UserError(N_("No serial given: scan or type one key's serial per line."))
    if len(typed) > MAX_KEYS_PER_RECEIPT:
        raise UserError(N_("At most %(limit)d keys at once: please receive them in parts."),
                        limit=MAX_KEYS_PER_RECEIPT)
    invalid = [serial for serial in typed if not SERIAL.match(serial)]
    if invalid:
        raise UserError(N_("Not a key serial (letters, digits, dot, dash, underscore or colon, at most 40): "
                           "%(serials)s. Nothing was received."), serials=_listed(invalid))
    seen: set[str] = set()
    repeated = [serial for serial in typed if serial in seen or seen.add(serial)]
    if repeated:
        raise UserError(N_("Serials given more than once: %(serials)s. Nothing was received."),
                        serials=_listed(list(dict.fromkeys(repeated))))
    known = _known(session, typed)
    if known:
        raise UserError(N_("Keys already known to the CA: %(serials)s. Nothing was received."),
                        serials=_listed(known))
    tokens = [Token(serial=serial, model=media_model.code, state=TokenState.BLANK, media_model=media_model)
              for serial in typed]
    try:
        with session.begin_nested():
            session.add_all(tokens)
            session.add_all([StockMovement(item=StockItem.KEY, media_model=media_model, kind=Kind.RECEIVED,
                                           quantity=1, token=token, actor=actor) for token in tokens])
    except IntegrityError:  # another receipt of the same serial committed meanwhile
        raise UserError(N_("Keys already known to the CA: %(serials)s. Nothing was received."),
                        serials=_listed(_known(session, typed) or typed)) from None
    record(session, actor, "stock.received", target=f"media_model:{media_model.code}",
           after={"item": StockItem.KEY.value, "model": media_model.code, "quantity": len(tokens),
                  "serials": typed})
    check_level(session, StockItem.KEY, media_model, actor)
    return tokens


def receive_envelopes(session: Session, count: int, actor: str) -> StockMovement:
    _check_quantity(count)
    movement = _move(session, StockItem.ENVELOPE, None, Kind.RECEIVED, count, actor)
    record(session, actor, "stock.received", target="stock:envelope",
           after={"item": StockItem.ENVELOPE.value, "quantity": count})
    check_level(session, StockItem.ENVELOPE, None, actor)
    return movement


def _known(session: Session, serials: list[str]) -> list[str]:
    found: set[str] = set()
    for start in range(0, len(serials), 500):
        found.update(session.scalars(select(Token.serial).where(Token.serial.in_(serials[start:start + 500]))))
    return [serial for serial in serials if serial in found]


def _listed(serials: list[str]) -> str:
    shown = ", ".join(serials[:_LISTED])
    return shown if len(serials) <= _LISTED else f"{shown} … (+{len(serials) - _LISTED})"


# --- using, returning, writing off ----------------------------------------------------------------


def on_shelf_balance(session: Session, token: Token) -> tuple[bool, int]:
    """(whether the key came from the shelf, the sum of its movements: 1 on the shelf, 0 used)."""
    received, balance = session.execute(select(
        func.count(case((StockMovement.kind == Kind.RECEIVED, 1))),
        func.coalesce(func.sum(StockMovement.quantity), 0),
    ).where(StockMovement.token_id == token.id)).one()
    return bool(received), int(balance)


def use_key(session: Session, token: Token, order: Order | None, actor: str) -> StockMovement | None:
    """The key was programmed for `order`: one off the shelf. Only a key the shelf received and
    has not given out yet counts (an applicant's own key, or one already counted when a job is
    replayed or redone, is not): None then."""
    if token.id is None:
        session.flush()
    came_from_shelf, balance = on_shelf_balance(session, token)
    if not came_from_shelf or balance <= 0:
        return None
    movement = _move(session, StockItem.KEY, token.media_model, Kind.USED, -1, actor, token=token, order=order)
    check_level(session, StockItem.KEY, token.media_model, actor)
    return movement


def return_key(session: Session, token: Token, actor: str, note: str | None = None) -> StockMovement:
    """A key the shelf gave out is back on it, blank (its job was given up and the key wiped)."""
    came_from_shelf, balance = on_shelf_balance(session, token)
    if not came_from_shelf:
        raise UserError(N_("Key %(serial)s was never received on the shelf."), serial=token.serial)
    if balance > 0:
        raise UserError(N_("Key %(serial)s is on the shelf already."), serial=token.serial)
    if token.state is not TokenState.BLANK:
        raise UserError(N_("Key %(serial)s is not blank: wipe it before it goes back on the shelf."),
                        serial=token.serial)
    movement = _move(session, StockItem.KEY, token.media_model, Kind.RETURNED, 1, actor, token=token,
                     note=note)
    record(session, actor, "stock.returned", target=f"token:{token.serial}", note=note)
    check_level(session, StockItem.KEY, token.media_model, actor)
    return movement


def use_envelope(session: Session, order: Order | None, actor: str) -> StockMovement:
    """A password card envelope went out with `order`'s parcel."""
    movement = _move(session, StockItem.ENVELOPE, None, Kind.USED, -1, actor, order=order)
    check_level(session, StockItem.ENVELOPE, None, actor)
    return movement


def write_off(session: Session, item: StockItem, media_model: MediaModel | None, quantity: int, actor: str,
              note: str) -> StockMovement:
    """Damaged or lost on the shelf: `quantity` off it, with the reason. Keys are written off per
    key model; no more than the shelf holds."""
    _check_quantity(quantity)
    if not (note or "").strip():
        raise UserError(N_("Say why they are written off."))
    if item is StockItem.KEY and media_model is None:
        raise UserError(N_("Choose the key model."))
    if item is StockItem.ENVELOPE:
        media_model = None
    held = on_hand(session, item, media_model)
    if quantity > held:
        raise UserError(N_("Only %(on_hand)d on the shelf: %(quantity)d cannot be written off."),
                        on_hand=held, quantity=quantity)
    movement = _move(session, item, media_model, Kind.WRITTEN_OFF, -quantity, actor, note=note.strip()[:255])
    record(session, actor, "stock.written_off",
           target=f"media_model:{media_model.code}" if media_model else f"stock:{item.value}",
           after={"item": item.value, "model": media_model.code if media_model else None, "quantity": quantity},
           note=note.strip()[:255])
    check_level(session, item, media_model, actor)
    return movement


def _check_quantity(quantity: int) -> None:
    if not isinstance(quantity, int) or not 1 <= quantity <= MAX_QUANTITY:
        raise UserError(N_("The quantity must be a whole number from 1 to %(limit)d."), limit=MAX_QUANTITY)


def _move(session: Session, item: StockItem, media_model: MediaModel | None, kind: StockMovementKind,
          quantity: int, actor: str, *, token: Token | None = None, order: Order | None = None,
          note: str | None = None) -> StockMovement:
    movement = StockMovement(item=item, media_model=media_model, kind=kind, quantity=quantity, token=token,
                             order=order, actor=actor, note=note)
    session.add(movement)
    session.flush()
    return movement


# --- levels and the low-stock alert ---------------------------------------------------------------


def _model_id(media_model: MediaModel | None):
    return StockMovement.media_model_id.is_(None) if media_model is None \
        else StockMovement.media_model_id == media_model.id


def on_hand(session: Session, item: StockItem, media_model: MediaModel | None) -> int:
    return int(session.scalar(select(func.coalesce(func.sum(StockMovement.quantity), 0)).where(
        StockMovement.item == item, _model_id(media_model))))


def level_row(session: Session, item: StockItem, media_model: MediaModel | None) -> StockLevel | None:
    model = StockLevel.media_model_id.is_(None) if media_model is None \
        else StockLevel.media_model_id == media_model.id
    return session.scalars(select(StockLevel).where(StockLevel.item == item, model)
                           .order_by(StockLevel.id).limit(1)).first()


def levels(session: Session) -> list[Level]:
    """The shelf: every key model that is active or has stock movements or a level, then the envelopes."""
    sums = {(item, model_id): (on, received, used) for item, model_id, on, received, used in session.execute(
        select(StockMovement.item, StockMovement.media_model_id, func.sum(StockMovement.quantity),
               func.coalesce(func.sum(case((StockMovement.kind == Kind.RECEIVED, StockMovement.quantity))), 0),
               func.coalesce(func.sum(case((StockMovement.kind == Kind.USED, -StockMovement.quantity))), 0))
        .group_by(StockMovement.item, StockMovement.media_model_id))}
    lows: dict[tuple[StockItem, int | None], int] = {}
    for row in session.scalars(select(StockLevel).order_by(StockLevel.id.desc())):
        lows[(row.item, row.media_model_id)] = row.low_level  # the first row wins
    wanted = {model_id for item, model_id in [*sums, *lows] if item is StockItem.KEY and model_id is not None}
    models = session.scalars(select(MediaModel).where(MediaModel.active.is_(True) | MediaModel.id.in_(wanted))
                             .order_by(MediaModel.code))
    lines = [(StockItem.KEY, model) for model in models] + [(StockItem.ENVELOPE, None)]
    found = []
    for item, model in lines:
        key = (item, model.id if model else None)
        on, received, used = sums.get(key, (0, 0, 0))
        found.append(Level(item=item, media_model=model, on_hand=int(on), received=int(received), used=int(used),
                           low_level=lows.get(key, DEFAULT_LOW_LEVEL)))
    return found


def check_level(session: Session, item: StockItem, media_model: MediaModel | None, actor: str) -> bool:
    """After a movement: at or below its low level, the item's alert goes out once (True); back
    above it, the alert is re-armed."""
    held = on_hand(session, item, media_model)
    level = level_row(session, item, media_model)
    low_level = level.low_level if level else DEFAULT_LOW_LEVEL
    if held > low_level:
        if level is not None and level.alerted_at is not None:
            level.alerted_at = None
            session.flush()
        return False
    if level is None:
        level = StockLevel(item=item, media_model=media_model, low_level=DEFAULT_LOW_LEVEL)
        session.add(level)
        session.flush()
    if level.alerted_at is not None:
        return False
    now = utcnow()
    if not update_if(session, level, StockLevel.alerted_at.is_(None), alerted_at=now):
        return False  # another transaction sent it
    _alert(session, item, media_model, held, low_level, now, actor)
    return True


def what(item: StockItem, media_model: MediaModel | None) -> str:
    """The item's name in the (Chinese) e-mail."""
    if item is StockItem.ENVELOPE:
        return "密码卡信封"
    return f"介质 {media_model.name}（{media_model.code}）" if media_model else "介质"


def _alert(session: Session, item: StockItem, media_model: MediaModel | None, held: int, low_level: int,
           now: dt.datetime, actor: str) -> None:
    message = render_email("low_stock", what=what(item, media_model), on_hand=held, low_level=low_level,
                           now=now.astimezone(BUSINESS_TZ).strftime("%Y-%m-%d %H:%M"), actor=actor)
    addresses = session.scalars(select(Staff.email).where(
        Staff.role.in_((StaffRole.FULFILLMENT, StaffRole.ADMIN)), Staff.active.is_(True),
        Staff.email.is_not(None), Staff.email != "").order_by(Staff.id)).all()
    for address in dict.fromkeys(addresses):
        queue_email(session, address, message)
