"""What the applicant hears from review: approval (and the certificate password by the
chosen method), rejection, and requests for more materials, by SMS and e-mail."""
from __future__ import annotations

import datetime as dt

from sqlalchemy.orm import Session

from models import IdentityMethod, MaterialKind, Order
from models.business_time import BUSINESS_TZ
from notifications.outbox import queue_email, queue_sms, queue_transfer

SIGNATURE = "【数字证书】"
SUPPORT = "如有疑问请致电客服 400-000-0000。"
KIND_NAMES = {
    MaterialKind.BUSINESS_LICENCE: "营业执照复印件（加盖公章）",
    MaterialKind.AGENT_ID_FRONT: "经办人身份证人像面",
    MaterialKind.AGENT_ID_BACK: "经办人身份证国徽面",
    MaterialKind.ESEAL_SAMPLE_FORM: "单位电子印章采集表",
    MaterialKind.AUTHORISATION_LETTER: "法定代表人授权书（加盖公章）",
}

def _to_agent(session: Session, order: Order, template: str, subject: str, text: str) -> None:
    queue_sms(session, order.agent.phone, template, SIGNATURE + text)
    if order.agent.email:
        queue_email(session, order.agent.email, subject, f"{order.agent.name}，您好：\n\n{text}\n\n{SUPPORT}\n",
                    template, order=order)


def approved(session: Session, order: Order) -> None:
    method = order.identity_method
    if method == IdentityMethod.CORPORATE_TRANSFER:
        how = "证书密码将通过向贵单位对公账户打款0.01元的附言发送，请留意银行账户明细。"
        queue_transfer(session, order, f"数字证书{order.number}密码{order.certificate_password}")
    else:
        how = "证书密码已通过短信发送至法定代表人手机。"
        queue_sms(session, order.legal_rep.phone, "certificate_password",
                  f"{SIGNATURE}订单{order.number}的证书密码为{order.certificate_password}，请妥善保管，勿告知他人。",
                  secret=True)
    _to_agent(session, order, "review_approved", f"订单{order.number}审核通过",
              f"您的订单{order.number}已审核通过，我们将在5个工作日内制作并寄出证书介质。{how}")


def rejected(session: Session, order: Order, reasons: list[str], note: str | None) -> None:
    why = "；".join([*reasons, *([note.strip()] if note and note.strip() else [])])
    _to_agent(session, order, "review_rejected", f"订单{order.number}审核未通过",
              f"很抱歉，您的订单{order.number}未通过审核。原因：{why}。{SUPPORT}")


def more_materials(session: Session, order: Order, kinds: list[MaterialKind], reason: str,
                   link: str, expires_at: dt.datetime) -> None:
    names = "、".join(KIND_NAMES[k] for k in kinds)
    until = expires_at.astimezone(BUSINESS_TZ).strftime("%Y-%m-%d")
    text = (f"您的订单{order.number}需补充材料：{names}。" + (f"说明：{reason}。" if reason else "")
            + f"请于{until}前通过以下链接重新上传：{link}")
    _to_agent(session, order, "more_materials", f"订单{order.number}需补充材料", text)
