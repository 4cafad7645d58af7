"""CSV and XLSX exports, read back the way Excel (and finance) would see them."""
from __future__ import annotations

import ast
import codecs
import csv
import datetime as dt
import io
from decimal import Decimal
from pathlib import Path

import pytest
from openpyxl import load_workbook

from reports.exports import csv_bytes, workbook_bytes, xlsx_bytes

HEADERS = ["订单号", "付款人", "金额（元）", "付款时间", "账单日", "备注"]
PAID_AT = dt.datetime(2024, 6, 10, 15, 30, tzinfo=dt.UTC)  # 23:30 in Beijing
ROWS = [
    ["20240610U000001", "北京星河科技有限公司", Decimal("300.00"), PAID_AT, dt.date(2024, 6, 10), None],
    ["20240610U000002", '示例 "引号", 逗号\n换行', 12, dt.datetime(2024, 6, 11, 0, 10), dt.date(2024, 6, 11), "正常"],
    ["20240610U000003", "=HYPERLINK(\"http://evil.example\",\"点击\")", -5, None, None, "+86 138"],
    ["20240610U000004", "@SUM(A1:A2)", 0.5, None, None, "-1+1"],
]
FORMULAS = ["=HYPERLINK(\"http://evil.example\",\"点击\")", "+86 138", "@SUM(A1:A2)", "-1+1"]


def read_csv(data: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))


def test_csv_starts_with_a_bom_and_round_trips_chinese_text():
    data = csv_bytes(HEADERS, ROWS)

    assert data.startswith(codecs.BOM_UTF8)
    assert b"\r\n" in data
    table = read_csv(data)
    assert table[0] == HEADERS
    assert table[1] == ["20240610U000001", "北京星河科技有限公司", "300.00", "2024-06-10 23:30:00", "2024-06-10", ""]
    assert table[2] == ["20240610U000002", '示例 "引号", 逗号\n换行', "12", "2024-06-11 00:10:00", "2024-06-11",
                        "正常"]
    assert len(table) == 1 + len(ROWS)


def test_csv_neutralises_formulas_but_not_numbers():
    table = read_csv(csv_bytes(HEADERS, ROWS))

    assert table[3][1] == "'=HYPERLINK(\"http://evil.example\",\"点击\")"
    assert table[3][5] == "'+86 138"
    assert table[4][1] == "'@SUM(A1:A2)"
    assert table[4][5] == "'-1+1"
    # Real numbers stay numbers, even negative ones.
    assert (table[3][2], table[4][2]) == ("-5", "0.5")


@pytest.mark.parametrize("text", ["=1+1", "+1", "-1", "@x", "\t=1", "\r=1"])
def test_every_formula_start_is_guarded_in_csv(text):
    [[header], [cell]] = read_csv(csv_bytes([text], [[text]]))

    assert header == cell == "'" + text


def test_csv_of_headers_only():
    assert read_csv(csv_bytes(["金额"], [])) == [["金额"]]


def load(data: bytes):
    workbook = load_workbook(io.BytesIO(data))
    assert len(workbook.worksheets) == 1
    return workbook.worksheets[0]


def test_xlsx_round_trips_with_types_kept():
    sheet = load(xlsx_bytes(HEADERS, ROWS, "对账 2024-06-10"))

    assert sheet.title == "对账 2024-06-10"
    values = [[cell.value for cell in row] for row in sheet.iter_rows()]
    assert values[0] == HEADERS
    assert values[1] == ["20240610U000001", "北京星河科技有限公司", 300, dt.datetime(2024, 6, 10, 23, 30),
                         dt.datetime(2024, 6, 10), None]
    assert values[2][1] == '示例 "引号", 逗号\n换行'
    assert values[2][2:4] == [12, dt.datetime(2024, 6, 11, 0, 10)]
    assert (values[3][2], values[4][2]) == (-5, 0.5)
    amount, paid_at, day = sheet["C2"], sheet["D2"], sheet["E2"]
    assert amount.data_type == "n" and isinstance(amount.value, int | float)
    assert paid_at.is_date and paid_at.value.tzinfo is None and "hh:mm" in paid_at.number_format
    assert day.is_date and day.number_format == "yyyy-mm-dd"


def test_xlsx_header_is_bold_and_frozen_and_columns_are_sized():
    sheet = load(xlsx_bytes(HEADERS, ROWS, "对账"))

    assert all(cell.font.b for cell in sheet[1])
    assert not any(cell.font.b for cell in sheet[2])
    assert sheet.freeze_panes == "A2"
    widths = {letter: sheet.column_dimensions[letter].width for letter in "ABCDEF"}
    # The payer's column holds the longest text (Chinese, about two units a character).
    assert widths["B"] > widths["A"] > widths["F"]
    assert widths["B"] >= 2 * len("北京星河科技有限公司")
    assert widths["D"] >= len("2024-06-10 23:30:00")
    assert max(widths.values()) <= 60


def test_xlsx_stores_formula_looking_text_as_text():
    sheet = load(xlsx_bytes(HEADERS, ROWS, "对账"))

    cells = [sheet["B4"], sheet["F4"], sheet["B5"], sheet["F5"]]
    assert [cell.value for cell in cells] == FORMULAS
    assert [cell.data_type for cell in cells] == ["s"] * 4
    assert all(cell.quotePrefix for cell in cells)
    assert not sheet["B2"].quotePrefix


def test_xlsx_sheet_title_is_made_acceptable_to_excel():
    sheet = load(xlsx_bytes(["a"], [[1]], "对账/2024:06 [明细]*? and a title far too long for Excel"))

    assert len(sheet.title) <= 31
    assert not set(sheet.title) & set("[]:*?/\\")
    assert sheet.title.startswith("对账_2024_06")


def test_xlsx_drops_characters_xml_cannot_hold():
    sheet = load(xlsx_bytes(["备注"], [["bell\x07 and 中文"]], "x"))

    assert sheet["A2"].value == "bell and 中文"


def test_a_workbook_holds_a_sheet_per_table_each_made_as_a_one_sheet_export():
    data = workbook_bytes([("积压", ["队列", "等待中"], [["新办申请", 3]]),
                           ("驳回原因", ["原因", "次数"], [["=1+1", 2]])])

    workbook = load_workbook(io.BytesIO(data))
    assert [sheet.title for sheet in workbook.worksheets] == ["积压", "驳回原因"]
    backlog, reasons = workbook.worksheets
    assert [[cell.value for cell in row] for row in backlog.iter_rows()] == [["队列", "等待中"], ["新办申请", 3]]
    assert all(cell.font.b for cell in reasons[1]) and reasons.freeze_panes == "A2"
    assert reasons["A2"].value == "=1+1" and reasons["A2"].data_type == "s" and reasons["A2"].quotePrefix


def test_exports_stay_generic():
    """reports sits below billing and reads no rows itself: it imports nothing of billing, the
    top, or the data model, but the business time zone every layer shares."""
    source = Path(__file__).resolve().parents[2] / "reports" / "exports.py"
    imported = set()
    for node in ast.walk(ast.parse(source.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            imported.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            imported.add(node.module or "")
    assert not {name for name in imported if name.split(".")[0] in ("billing", "models", "backoffice")} - {
        "models.business_time"}
