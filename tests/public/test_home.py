"""The public home page: every service of the seed portal with its one-line explanation, and a
plain answer, not a 404, for those not offered online yet."""
from __future__ import annotations

import re

import pytest

from public.services import SERVICES

SEED_WORDS = {  # the seed portal's home page
    "renewal": ("证书更新", "数字证书自办理之日起有效期为一年，到期前需进行证书更新"),
    "unlock": ("证书解锁", "忘记密码或连续输错10次密码，导致Usbkey锁死，需进行证书解锁"),
    "change": ("信息变更", "当您的单位信息发生变更时，需要办理此业务"),
    "replacement": ("证书补办", "当您的证书丢失或损坏时，需要办理此项业务"),
    "revocation": ("证书吊销", "用户停止使用数字证书时，可申请证书吊销"),
    "query": ("订单查询", "如果已经申请数字证书，请点击订单查询，查询证书办理进度"),
}


def _tiles(page: str) -> dict[str, str]:
    """Each tile's link by its service, in the page's order."""
    return {slug: href for href, slug in re.findall(r'href="([^"]+)" id="service-([\w-]+)"', page)}


def test_the_home_page_offers_every_service_with_the_seeds_words(client):
    page = client.get("/c/direct/").get_data(as_text=True)
    for slug, (title, explanation) in SEED_WORDS.items():
        tile = page.split(f'id="service-{slug}"')[1].split("</a>")[0]
        assert title in tile and explanation in tile, slug
    assert list(_tiles(page)) == [service.slug for service in SERVICES]


def test_each_tile_leads_to_its_flow(client):
    tiles = _tiles(client.get("/c/direct/?lang=en").get_data(as_text=True))
    assert tiles["new-unit"] == "/c/direct/apply" and tiles["query"] == "/query"
    assert tiles["new-personal"] == "/c/direct/personal/apply"  # 办理个人证书, beside 办理单位证书
    assert tiles["replacement"] == "/replacement" and tiles["revocation"] == "/revocation"
    for service in SERVICES:
        answer = client.get(tiles[service.slug], follow_redirects=True)  # 补办 and 吊销 start with the query
        assert answer.status_code == 200, service.slug


def test_an_online_service_s_page_sends_on_to_the_flow(client):
    assert client.get("/c/direct/services/new-unit").headers["Location"] == "/c/direct/apply"
    assert client.get("/c/direct/services/new-personal").headers["Location"] == "/c/direct/personal/apply"
    assert client.get("/c/direct/services/replacement").headers["Location"] == "/replacement"
    assert client.get("/c/direct/services/renewal").headers["Location"] == "/c/direct/renewal"


@pytest.mark.parametrize("slug, title", [("replacement", "Certificate replacement"),
                                         ("revocation", "Certificate revocation")])
def test_replacement_and_revocation_start_with_the_order_query_under_their_own_title(client, slug, title):
    answer = client.get(f"/{slug}?lang=en")
    assert answer.headers["Location"] == f"/query?for={slug}"
    page = client.get(answer.headers["Location"]).get_data(as_text=True)
    assert f"<h1>{title}</h1>" in page and f'action="/query?for={slug}"' in page


@pytest.mark.parametrize("url", ["/c/direct/services/no-such-service", "/c/nosuchchannel/services/renewal"])
def test_unknown_services_and_channels_are_not_found(client, url):
    assert client.get(url).status_code == 404
