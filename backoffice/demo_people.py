"""What Chinese organisations and people look like, for demo data: names, addresses,
unified social credit codes, resident ID numbers, phones and bank accounts, all with valid
check characters."""
from __future__ import annotations

import datetime as dt
import random
import string
from itertools import repeat
from operator import mul

from documents import regions
from models import IdType
from public.validators import credit_code_check_char, resident_id_check_char

SURNAMES = ("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁"
            "潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊"
            "秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严武戴莫孔向汤")
GIVEN = ("伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍鹏辉建国红梅飞鑫"
         "波斌宇浩凯晨欣怡佳琪子轩梓涵雨泽博文思宁海燕丹雪婷慧颖俊峰志宏春林亮云")
TRADE_NAMES = ("信源 华瑞 中科 恒通 金桥 宏达 鼎盛 天成 瑞丰 新元 博远 智联 安信 众合 汇通 聚力 "
               "嘉和 长兴 东方 正大 同创 永泰 德润 万邦 卓越 星辰 锦程 远航 和信 启明 精诚 凯达 "
               "富源 兴业 广联 顺达 宏图 海纳 云帆 明德").split()
INDUSTRIES = ("科技 信息技术 网络科技 软件 电子 建筑工程 建设工程 市政工程 装饰工程 工程咨询 "
              "招标代理 商贸 贸易 医疗器械 环保科技 物流 实业 园林绿化 劳务 电力工程 机械设备 "
              "农业发展 文化传媒 物业服务 交通工程").split()
COMPANY_FORMS = ["有限公司"] * 14 + ["有限责任公司"] * 3 + ["股份有限公司", "集团有限公司"]
INSTITUTIONS = ("公共资源交易中心 第一人民医院 中心医院 住房公积金管理中心 第一中学 疾病预防控制中心 "
                "自然资源和规划局 建设工程质量监督站 职业技术学院 图书馆").split()
DEPARTMENTS = [None, None, None, "办公室", "信息部", "财务部", "综合部", "市场部", "招投标部"]
ROADS = ("人民路 建设路 解放路 中山路 文化路 花园路 经三路 科学大道 长江路 黄河路 新华路 和平路 胜利街 "
         "工业路 东风路 金水路 农业路 商务外环路 滨河路 世纪大道").split()
# Corporate account numbers have no check digit; their length depends on the bank.
BANKS = [("中国工商银行", 19), ("中国农业银行", 17), ("中国银行", 12), ("中国建设银行", 20), ("交通银行", 21),
         ("招商银行", 15), ("中国邮政储蓄银行", 18), ("中信银行", 16), ("兴业银行", 18), ("浦发银行", 16)]
CARD_BINS = "622202 622848 621700 621661 622588 622260 621799 622908".split()
MOBILE_PREFIXES = ("130 131 132 133 134 135 136 137 138 139 150 151 152 153 155 156 157 158 159 "
                   "166 176 177 178 180 181 182 183 185 186 187 188 189 191 198 199").split()
# Area codes of the provincial capitals, for organisations there that give a landline.
CAPITAL_AREA_CODES = dict(pair.split(":") for pair in (
    "11:010 12:022 13:0311 14:0351 15:0471 21:024 22:0431 23:0451 31:021 32:025 33:0571 34:0551 35:0591 "
    "36:0791 37:0531 41:0371 42:027 43:0731 44:020 45:0771 46:0898 50:023 51:028 52:0851 53:0871 54:0891 "
    "61:029 62:0931 63:0971 64:0951 65:0991").split())
AUTONOMOUS_REGIONS = {"150000": "内蒙古", "450000": "广西", "540000": "西藏", "640000": "宁夏", "650000": "新疆"}
HOME_PROVINCE = "410000"  # the CA's own province: most applicants come from there
_ORG_CODE_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)
_CREDIT_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"  # GB 32100: no I, O, Z, S, V


def _org_code_check(body: str) -> str:
    """GB 11714 check character of an 8-character organisation code."""
    total = sum(map(mul, map(int, body, repeat(36)), _ORG_CODE_WEIGHTS))
    return "0123456789X0"[11 - total % 11]


def _luhn(body: str) -> str:
    total = 0
    for i, ch in enumerate(reversed(body)):
        d = int(ch) * (2 if i % 2 == 0 else 1)
        total += d - 9 if d > 9 else d
    return str(-total % 10)


class Faker:
    """Organisations and people that pass the registration desk's checks.

    Draws go through `pick` and `below` (one float each): `random.choice` costs several
    times more, which shows at a few million draws.
    """

    def __init__(self, rng: random.Random, today: dt.date):
        self.random = rng.random
        province_names = {p["code"]: p["name"] for p in regions.provinces()}
        # Prefecture-level cities only ("…市"): their short names read naturally in company names.
        self.cities = [(p, c["code"], c["name"]) for p in province_names if p[:2] not in ("71", "81", "82")
                       for c in regions.cities(p) if c["name"].endswith("市")]
        self.home_cities = [c for c in self.cities if c[0] == HOME_PROVINCE]
        self.province_short = {code: AUTONOMOUS_REGIONS.get(code, name.rstrip("省市"))
                               for code, name in province_names.items()}
        self.id_numbers: set[str] = set()
        self.birthdays = [f"{today - dt.timedelta(days=age):%Y%m%d}" for age in range(90 * 366)]  # by age in days

    def pick(self, seq):
        return seq[int(self.random() * len(seq))]

    def below(self, n: int) -> int:
        return int(self.random() * n)

    def digits(self, n: int) -> str:
        return f"{self.below(10**n):0{n}d}"

    def city(self) -> tuple[str, str, str]:
        return self.pick(self.home_cities if self.random() < 0.55 else self.cities)

    def organisation(self, city: tuple[str, str, str]) -> tuple[str, str]:
        """Name and unified social credit code."""
        province, city_code, city_name = city
        if self.random() < 0.08:  # a public institution (事业单位): registered by the staffing office
            return city_name + self.pick(INSTITUTIONS), self._credit_code("12", city_code, "4" + self.digits(7))
        trade, industry, form = self.pick(TRADE_NAMES), self.pick(INDUSTRIES), self.pick(COMPANY_FORMS)
        place = self.province_short[province] if self.random() < 0.2 else city_name[:-1]
        name = f"{trade}{industry}（{place}）{form}" if self.random() < 0.1 else f"{place}{trade}{industry}{form}"
        org = "MA" + "".join([self.pick(_CREDIT_CHARS) for _ in range(6)])
        return name, self._credit_code("91", city_code, org)

    @staticmethod
    def _credit_code(kind: str, area: str, org: str) -> str:
        body = kind + area + org + _org_code_check(org)
        return body + credit_code_check_char(body)

    def name(self) -> str:
        given = self.pick(GIVEN) if self.random() < 0.3 else self.pick(GIVEN) + self.pick(GIVEN)
        return self.pick(SURNAMES) + given

    def id_number(self, city_code: str, youngest: int, oldest: int) -> tuple[IdType, str]:
        """A resident ID number nobody else in this load has (now and then a passport)."""
        while True:
            if self.random() < 0.01:
                kind, number = IdType.PASSPORT, "E" + self.digits(8)
            else:
                born = self.birthdays[youngest * 366 + self.below((oldest - youngest) * 365)]
                body = f"{city_code[:4]}{2 + self.below(28):02d}{born}{self.digits(3)}"
                kind, number = IdType.RESIDENT_ID, body + resident_id_check_char(body)
            if number not in self.id_numbers:
                self.id_numbers.add(number)
                return kind, number

    def mobile(self) -> str:
        return self.pick(MOBILE_PREFIXES) + self.digits(8)

    def org_phone(self, city_code: str) -> str | None:
        roll = self.random()
        if roll < 0.2:
            return None
        if roll < 0.6 and city_code.endswith("0100") and city_code[:2] in CAPITAL_AREA_CODES:
            return f"{CAPITAL_AREA_CODES[city_code[:2]]}-{2 + self.below(7)}{self.digits(7)}"
        return self.mobile()

    def email(self) -> str:
        if self.random() < 0.5:
            return f"{10**7 + self.below(10**10 - 10**7)}@qq.com"
        user = "".join([self.pick(string.ascii_lowercase) for _ in range(4 + self.below(5))]) + self.digits(2)
        return f"{user}@{self.pick(('163.com', '126.com', 'sina.com', 'foxmail.com'))}"

    def bank_account(self, city_name: str) -> tuple[str, str]:
        """Bank branch and a corporate account number."""
        bank, length = self.pick(BANKS)
        branch = "分行营业部" if self.random() < 0.3 else self.pick(TRADE_NAMES[:12]) + "支行"
        number = f"{1 + self.below(9)}{self.digits(length - 11)}{self.digits(10)}"
        return f"{bank}{city_name[:-1]}{branch}", number

    def bank_card(self) -> str:
        body = self.pick(CARD_BINS) + self.digits(12)
        return body + _luhn(body)

    def address(self, city_name: str) -> str:
        where = f"{city_name}{self.pick(ROADS)}{1 + self.below(299)}号"
        return where + (f"{self.pick(TRADE_NAMES)}大厦{2 + self.below(27)}层" if self.random() < 0.6 else "")
