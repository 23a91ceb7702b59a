"""A streaming XLSX writer: a workbook of plain tables, produced row by row as bytes.

An XLSX file is a ZIP of XML parts. `zipfile` writes a ZIP to a stream it cannot seek
(each entry's sizes then follow its data in a "data descriptor"), so the sheet XML is
compressed into the archive while the rows come in and the bytes are handed on every few
hundred rows: the first bytes go out before any row is read, and memory stays flat however
long the table. The parts that list the sheets (workbook, relationships, content types)
are written last, once the number of sheets is known; the order of the entries in a ZIP
does not matter to spreadsheet programs (the Open XML SDK also writes
`[Content_Types].xml` last).

Cells are written by kind (see `stream_xlsx`): text as inline strings (never a formula,
number or date, whatever it looks like: "000123" stays text and "=1+1" stays text),
numbers and booleans as values, times as Excel date numbers with a date format; None and
empty text are empty cells. Characters
that XML 1.0 cannot carry are dropped; "\\r" is kept as a character reference.
"""

import re
import zipfile
from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime
from xml.sax.saxutils import quoteattr

# Excel's limits: rows a sheet (the header included) and characters a cell.
MAX_ROWS = 1_048_576
MAX_CELL_TEXT = 32_767
ROWS_PER_WRITE = 500
# Deflate's fastest level: the writer is bound by CPU, and level 6 makes the file only
# about a tenth smaller for a third more time.
COMPRESS_LEVEL = 1

_XML = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
_MAIN_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_REL_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_PKG_REL_NS = "http://schemas.openxmlformats.org/package/2006/relationships"
_CT_SHEET = "application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"

_ROOT_RELS = (
    f'{_XML}<Relationships xmlns="{_PKG_REL_NS}">'
    f'<Relationship Id="rId1" Type="{_REL_NS}/officeDocument" Target="xl/workbook.xml"/>'
    "</Relationships>"
)
# Style 0: default; 1: bold (the header); 2: a date and time.
_STYLES = (
    f'{_XML}<styleSheet xmlns="{_MAIN_NS}">'
    '<numFmts count="1"><numFmt numFmtId="164" formatCode="yyyy-mm-dd hh:mm:ss"/></numFmts>'
    '<fonts count="2"><font><sz val="11"/><name val="Calibri"/><family val="2"/></font>'
    '<font><b/><sz val="11"/><name val="Calibri"/><family val="2"/></font></fonts>'
    '<fills count="2"><fill><patternFill patternType="none"/></fill>'
    '<fill><patternFill patternType="gray125"/></fill></fills>'
    '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
    '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
    '<cellXfs count="3"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>'
    '<xf numFmtId="0" fontId="1" fillId="0" borderId="0" xfId="0" applyFont="1"/>'
    '<xf numFmtId="164" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/></cellXfs>'
    '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>'
    "</styleSheet>"
)
# The header row stays in view while scrolling.
_SHEET_START = (
    f'{_XML}<worksheet xmlns="{_MAIN_NS}" xmlns:r="{_REL_NS}">'
    '<sheetViews><sheetView workbookViewId="0">'
    '<pane ySplit="1" topLeftCell="A2" activePane="bottomLeft" state="frozen"/>'
    '<selection pane="bottomLeft"/></sheetView></sheetViews>'
    "<sheetData>"
)
_SHEET_END = "</sheetData></worksheet>"

# Not allowed in XML 1.0 (tab, newline and carriage return are).
_INVALID_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
# Text that can go into the XML as it is.
_PLAIN = re.compile("[^&<>\x00-\x08\x0b-\x1f\ud800-\udfff\ufffe\uffff]*")
_EPOCH = datetime(1899, 12, 30)


class _Sink:
    """Where the ZipFile writes: keeps the bytes until they are taken. It has tell() but
    no seek(), so zipfile writes data descriptors instead of going back to headers."""

    def __init__(self) -> None:
        self._chunks: list[bytes] = []
        self._written = 0

    def write(self, data) -> int:
        self._chunks.append(bytes(data))
        self._written += len(data)
        return len(data)

    def tell(self) -> int:
        return self._written

    def flush(self) -> None:
        pass

    def take(self) -> bytes:
        data = b"".join(self._chunks)
        self._chunks.clear()
        return data


def clean_text(value: str) -> str:
    """`value` as XML character data: invalid characters dropped, markup escaped, "\\r"
    as a reference (an XML parser would turn a bare one into a newline), cut to Excel's
    cell limit."""
    if len(value) > MAX_CELL_TEXT:
        value = value[:MAX_CELL_TEXT]
    elif _PLAIN.fullmatch(value):  # most values: nothing to do
        return value
    value = _INVALID_XML.sub("", value)
    value = value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    if "\r" in value:
        value = value.replace("\r", "&#13;")
    return value


def _text_cell(ref: str, value) -> str:
    text = clean_text(value if isinstance(value, str) else str(value))
    if not text:
        return ""  # an empty cell, as for None
    if text.strip() != text:
        return f'<c r="{ref}" t="inlineStr"><is><t xml:space="preserve">{text}</t></is></c>'
    return f'<c r="{ref}" t="inlineStr"><is><t>{text}</t></is></c>'


def _number_cell(ref: str, value) -> str:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return f'<c r="{ref}"><v>{value!r}</v></c>'
    return _text_cell(ref, value)  # a UUID or anything else that is not a number


def _bool_cell(ref: str, value) -> str:
    return f'<c r="{ref}" t="b"><v>{1 if value else 0}</v></c>'


def _datetime_cell(ref: str, value: datetime) -> str:
    """A naive (wall-clock) datetime as Excel's serial day number, 1900 date system."""
    days = (value - _EPOCH).total_seconds() / 86400
    return f'<c r="{ref}" s="2"><v>{days!r}</v></c>'


_CELL_WRITERS = {"text": _text_cell, "number": _number_cell, "bool": _bool_cell, "datetime": _datetime_cell}


def _column_letters(index: int) -> str:
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def _workbook_parts(titles: Sequence[str]) -> dict[str, str]:
    sheets = "".join(
        f'<sheet name={quoteattr(title)} sheetId="{n}" r:id="rId{n}"/>' for n, title in enumerate(titles, start=1)
    )
    sheet_rels = "".join(
        f'<Relationship Id="rId{n}" Type="{_REL_NS}/worksheet" Target="worksheets/sheet{n}.xml"/>'
        for n in range(1, len(titles) + 1)
    )
    styles_rel = len(titles) + 1
    sheet_types = "".join(
        f'<Override PartName="/xl/worksheets/sheet{n}.xml" ContentType="{_CT_SHEET}"/>'
        for n in range(1, len(titles) + 1)
    )
    return {
        "xl/workbook.xml": (
            f'{_XML}<workbook xmlns="{_MAIN_NS}" xmlns:r="{_REL_NS}">'
            f'<bookViews><workbookView/></bookViews><sheets>{sheets}</sheets></workbook>'
        ),
        "xl/_rels/workbook.xml.rels": (
            f'{_XML}<Relationships xmlns="{_PKG_REL_NS}">{sheet_rels}'
            f'<Relationship Id="rId{styles_rel}" Type="{_REL_NS}/styles" Target="styles.xml"/>'
            "</Relationships>"
        ),
        "[Content_Types].xml": (
            f'{_XML}<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
            '<Default Extension="xml" ContentType="application/xml"/>'
            '<Override PartName="/xl/workbook.xml" '
            'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
            '<Override PartName="/xl/styles.xml" '
            'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>'
            f"{sheet_types}</Types>"
        ),
    }


def stream_xlsx(
    title: str,
    headers: Sequence[str],
    kinds: Sequence[str],
    rows: Iterable[Sequence],
    *,
    max_rows: int = MAX_ROWS,
    rows_per_write: int = ROWS_PER_WRITE,
) -> Iterator[bytes]:
    """The bytes of an XLSX workbook of `rows` under a bold header, in pieces.

    `kinds` gives each column's cell kind: "text", "number" (ints and floats as numbers,
    other values as text), "bool" or "datetime" (naive datetimes). None is an empty cell.
    A sheet holds at most `max_rows` rows, the header included; further rows go on in
    sheets "<title> 2", "<title> 3", … each with the header again. The first piece comes
    before `rows` is first asked for a row; then, every `rows_per_write` rows, whatever the
    compressor has put out so far."""
    writers = [_CELL_WRITERS[kind] for kind in kinds]
    letters = [_column_letters(index) for index in range(len(headers))]
    header_cells = "".join(
        f'<c r="{letter}1" t="inlineStr" s="1"><is><t>{clean_text(header)}</t></is></c>'
        for letter, header in zip(letters, headers, strict=True)
    )
    header_row = f'<row r="1">{header_cells}</row>'
    columns = list(zip(letters, writers, strict=True))
    last_letter, last_write = columns.pop()

    sink = _Sink()
    with zipfile.ZipFile(sink, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=COMPRESS_LEVEL) as archive:
        archive.writestr("_rels/.rels", _ROOT_RELS)
        archive.writestr("xl/styles.xml", _STYLES)
        yield sink.take()

        titles: list[str] = []
        sheet = None
        line = max_rows
        pending: list[str] = []
        try:
            for row in rows:
                if line >= max_rows:
                    if sheet is not None:
                        pending.append(_SHEET_END)
                        sheet.write("".join(pending).encode())
                        pending.clear()
                        sheet.close()
                    titles.append(title if not titles else f"{title} {len(titles) + 1}")
                    sheet = archive.open(f"xl/worksheets/sheet{len(titles)}.xml", "w", force_zip64=True)
                    pending.append(_SHEET_START)
                    pending.append(header_row)
                    line = 1
                line += 1
                number = str(line)
                pending.append(f'<row r="{number}">')
                for (letter, write), value in zip(columns, row[:-1], strict=True):
                    if value is not None:
                        pending.append(write(letter + number, value))
                value = row[-1]
                cell = last_write(last_letter + number, value) if value is not None else ""
                # The last cell is written even when empty, so that every row is as wide
                # as the header for readers without a sheet size (openpyxl's read-only mode).
                pending.append(cell or f'<c r="{last_letter}{number}"/>')
                pending.append("</row>")
                if line % rows_per_write == 0:
                    sheet.write("".join(pending).encode())
                    pending.clear()
                    data = sink.take()
                    if data:
                        yield data
            if sheet is None:  # no rows: a sheet with the header alone
                titles.append(title)
                sheet = archive.open("xl/worksheets/sheet1.xml", "w", force_zip64=True)
                pending.append(_SHEET_START)
                pending.append(header_row)
            pending.append(_SHEET_END)
            sheet.write("".join(pending).encode())
        finally:
            if sheet is not None:
                sheet.close()
        for name, text in _workbook_parts(titles).items():
            archive.writestr(name, text)
    yield sink.take()
