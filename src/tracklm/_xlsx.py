"""A table as an ``.xlsx`` workbook whose every cell is text, for people who open tables in a
spreadsheet.

Logged prompts and responses are untrusted text: an LLM's answer may start with ``=``, ``+``,
``-`` or ``@``, which a spreadsheet opening a CSV file runs as a formula. Here each cell is an
inline string (``t="inlineStr"``), which spreadsheets show as text and never evaluate; no
formula element is ever written. Characters XML cannot hold (control characters, lone
surrogates) are written as the format's ``_xHHHH_`` escapes, which spreadsheets read back. A
cell keeps at most 32,767 characters, the most a spreadsheet cell holds. No dependency: the
workbook is a few small XML files in a zip.
"""

from __future__ import annotations

import json
import math
import re
import zipfile
from collections.abc import Iterable, Sequence
from typing import IO, Any, Final
from xml.sax.saxutils import escape

__all__ = ["MAX_CELL_CHARS", "cell_text", "write_xlsx"]

MAX_CELL_CHARS: Final = 32_767

# what XML 1.0 cannot hold, and text that looks like an escape already (so that it reads
# back as itself)
_NEEDS_ESCAPE: Final = re.compile(
    "[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]|_(?=x[0-9A-Fa-f]{4}_)"
)

_CONTENT_TYPES: Final = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" '
    'ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/xl/workbook.xml" ContentType="application/'
    'vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
    '<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/'
    'vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
    '<Override PartName="/xl/styles.xml" ContentType="application/'
    'vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>'
    "</Types>"
)
_ROOT_RELS: Final = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
    'relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>'
)
_WORKBOOK: Final = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
    'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
    '<sheets><sheet name="{name}" sheetId="1" r:id="rId1"/></sheets></workbook>'
)
_WORKBOOK_RELS: Final = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
    'relationships/worksheet" Target="worksheets/sheet1.xml"/>'
    '<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
    'relationships/styles" Target="styles.xml"/></Relationships>'
)
_STYLES: Final = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<styleSheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
    '<fonts count="1"><font><sz val="11"/><name val="Calibri"/></font></fonts>'
    '<fills count="2"><fill><patternFill patternType="none"/></fill>'
    '<fill><patternFill patternType="gray125"/></fill></fills>'
    '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
    '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
    '<cellXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/></cellXfs>'
    '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>'
    "</styleSheet>"
)


def cell_text(value: Any) -> str:
    """A cell's text, as the table's CSV file writes it (empty for a missing value)."""
    if isinstance(value, str):
        return value
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def write_xlsx(
    target: IO[bytes], columns: Sequence[str], rows: Iterable[Sequence[Any]], sheet: str
) -> None:
    """Write a workbook of one sheet: a header row of ``columns``, then ``rows``, all text."""
    lines = [
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
        "<sheetData>"
    ]
    for number, cells in enumerate([list(columns), *rows], start=1):
        lines.append(f'<row r="{number}">')
        for index, value in enumerate(cells):
            text = cell_text(value)
            if text:
                reference = f"{_column(index)}{number}"
                lines.append(
                    f'<c r="{reference}" t="inlineStr"><is><t xml:space="preserve">'
                    f"{_xml_text(text[:MAX_CELL_CHARS])}</t></is></c>"
                )
        lines.append("</row>")
    lines.append("</sheetData></worksheet>")
    name = escape(_sheet_name(sheet), {'"': "&quot;"})
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as book:
        book.writestr("[Content_Types].xml", _CONTENT_TYPES)
        book.writestr("_rels/.rels", _ROOT_RELS)
        book.writestr("xl/workbook.xml", _WORKBOOK.format(name=name))
        book.writestr("xl/_rels/workbook.xml.rels", _WORKBOOK_RELS)
        book.writestr("xl/styles.xml", _STYLES)
        book.writestr("xl/worksheets/sheet1.xml", "".join(lines).encode("utf-8"))


def _xml_text(text: str) -> str:
    text = _NEEDS_ESCAPE.sub(lambda m: f"_x{ord(m.group()):04X}_", text)
    # a carriage return as a reference: XML readers turn a literal one into a line feed
    return escape(text, {"\r": "&#13;"})


def _column(index: int) -> str:
    """``0`` -> ``A``, ``25`` -> ``Z``, ``26`` -> ``AA``..."""
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(ord("A") + rest) + letters
    return letters


def _sheet_name(name: str) -> str:
    """A valid sheet name: at most 31 characters, none of ``[]:*?/\\``."""
    cleaned = re.sub(r"[\[\]:*?/\\]", "_", name).strip("'") or "table"
    return cleaned[:31]
