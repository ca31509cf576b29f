"""Tables written out for the reader: Excel (.xlsx, openpyxl) and PDF (WeasyPrint), nothing else decided here."""

from __future__ import annotations

import io
from collections.abc import Sequence
from datetime import date, datetime
from html import escape

Cell = str | int | float | date | datetime | None
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
PDF_TYPE = "application/pdf"
# Excel refuses sheet titles over 31 characters and with any of these.
_SHEET_FORBIDDEN = str.maketrans({c: " " for c in "[]:*?/\\"})


def _plain(value: Cell) -> Cell:
    """A cell Excel stores as typed; text that a spreadsheet would run as a formula is kept as text."""
    if isinstance(value, datetime):
        return value.replace(tzinfo=None)
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@"):
        return "'" + value
    return value


def to_xlsx(*, title: str, headers: Sequence[str], rows: Sequence[Sequence[Cell]], note: str = "") -> bytes:
    """One sheet: TITLE, an optional NOTE line, the header row, then ROWS."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    book = Workbook(write_only=False)
    sheet = book.active
    assert sheet is not None
    sheet.title = title.translate(_SHEET_FORBIDDEN)[:31] or "Sheet"
    sheet.append([title])
    sheet["A1"].font = Font(bold=True, size=14)
    if note:
        sheet.append([note])
    sheet.append(list(headers))
    for cell in sheet[sheet.max_row]:
        cell.font = Font(bold=True)
    for row in rows:
        sheet.append([_plain(value) for value in row])
    for index, header in enumerate(headers, start=1):
        width = max([len(str(header))] + [len(str(row[index - 1] or "")) for row in rows[:200]])
        sheet.column_dimensions[sheet.cell(row=1, column=index).column_letter].width = min(60, 4 + 2 * width)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def table_html(*, title: str, headers: Sequence[str], rows: Sequence[Sequence[Cell]], note: str = "") -> str:
    """A printable page of the table (A4 landscape, CJK font), every value escaped."""
    head = "".join(f"<th>{escape(str(h))}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{escape('' if v is None else str(v))}</td>" for v in row) + "</tr>"
                   for row in rows)
    return ("<!doctype html><html lang='zh-CN'><head><meta charset='utf-8'><style>"
            "@page{size:A4 landscape;margin:12mm}body{font-family:'Noto Sans CJK SC','Noto Sans CJK',sans-serif;"
            "font-size:9pt}h1{font-size:14pt}table{border-collapse:collapse;width:100%}"
            "th,td{border:1px solid #999;padding:2px 4px;text-align:left;vertical-align:top}"
            "th{background:#eee}thead{display:table-header-group}</style></head><body>"
            f"<h1>{escape(title)}</h1>" + (f"<p>{escape(note)}</p>" if note else "")
            + f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></body></html>")


def to_pdf(*, title: str, headers: Sequence[str], rows: Sequence[Sequence[Cell]], note: str = "") -> bytes:
    """The table as a PDF (WeasyPrint; needs Debian's Pango and a CJK font, see the Makefile)."""
    from weasyprint import HTML

    pdf: bytes = HTML(string=table_html(title=title, headers=headers, rows=rows, note=note)).write_pdf()
    return pdf
