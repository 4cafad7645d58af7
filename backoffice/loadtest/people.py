"""Who applies during a load test: a new organisation with its people for each application (valid
check characters, phones unique in the run and clear of the SMS sandbox's trigger endings), and
the scanned documents they upload."""
from __future__ import annotations

import datetime as dt
import io
import itertools
import random

from PIL import Image, ImageDraw

from backoffice.demo_people import Faker

# The SMS sandbox refuses numbers ending 0000 and delays those ending 9999 (notifications.gateways).
SANDBOX_TRIGGERS = ("0000", "9999")
_serial = itertools.count(1)


class Applicants:
    def __init__(self, seed: int) -> None:
        self.faker = Faker(random.Random(seed), dt.date.today())
        self.phones: set[str] = set()

    def phone(self) -> str:
        while True:
            phone = self.faker.mobile()
            if phone not in self.phones and not phone.endswith(SANDBOX_TRIGGERS):
                self.phones.add(phone)
                return phone

    def application(self) -> dict[str, str]:
        """An application as the form posts it (and the API takes it, with `consent` true)."""
        f = self.faker
        province, city_code, city_name = f.city()
        org_name, credit_code = f.organisation((province, city_code, city_name))
        legal_rep_id_type, legal_rep_id = f.id_number(city_code, 30, 65)
        agent_id_type, agent_id = f.id_number(city_code, 22, 55)
        bank_name, account_number = f.bank_account(city_name)
        address = f.address(city_name)
        return {
            "identity_method": "legal_rep_phone", "org_name": org_name, "org_department": "",
            "credit_code": credit_code, "region_province": province, "region_city": city_code,
            "org_phone": "", "legal_rep_name": f.name(), "legal_rep_phone": self.phone(),
            "legal_rep_id_type": str(legal_rep_id_type), "legal_rep_id_number": legal_rep_id,
            "legal_rep_bank_card": "", "product": "UNIT-1Y", "media_type": "card", "media_model": "UKEY-RS",
            "account_number": account_number, "bank_name": bank_name, "bank_province": province,
            "bank_city": city_code, "invoice_taxpayer_id": credit_code,
            "invoice_address_phone": address, "invoice_bank_account": f"{bank_name} {account_number}",
            "agent_identity_method": "phone", "agent_name": f.name(), "agent_phone": self.phone(),
            "agent_id_type": str(agent_id_type), "agent_id_number": agent_id, "agent_bank_account": "",
            "agent_email": f.email(), "mailing_province": province, "mailing_city": city_code,
            "mailing_address": address,
        }


def scans(count: int = 6) -> list[bytes]:
    """Phone photos of documents as applicants upload them: JPEGs of 1200 × 850 pixels, some
    about 100 KB each, every one different (text lines and noise), made once per load process."""
    made = []
    for index in range(count):
        image = Image.effect_noise((120, 85), 30).resize((1200, 850), Image.Resampling.BICUBIC).convert("RGB")
        draw = ImageDraw.Draw(image)
        for line in range(18):
            draw.rectangle((80, 90 + line * 40, 80 + (line * 137 + index * 53) % 900 + 120, 104 + line * 40),
                           fill=(40, 40, 40))
        buffer = io.BytesIO()
        image.save(buffer, "JPEG", quality=70)
        made.append(buffer.getvalue())
    return made


def next_serial() -> int:
    return next(_serial)
