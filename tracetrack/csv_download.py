"""CSV downloads for people who open them in a spreadsheet: safe cells, streamed text, the
download response. In the kernel so that every app's pages can use it (billing may not import
backoffice, whose whole-table exports have the same rules)."""

import csv
import io
from collections.abc import Iterable, Iterator
from datetime import datetime

from django.http import StreamingHttpResponse
from django.utils import timezone

# Text that a spreadsheet would run as a formula gets a leading quote (OWASP "CSV
# injection"); backoffice.importing removes it again.
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
ROWS_PER_WRITE = 1000


def csv_text(value: str) -> str:
    """`value` as a cell no spreadsheet runs as a formula."""
    return "'" + value if value.startswith(FORMULA_PREFIXES) else value


def csv_chunks(header: list[str], rows: Iterable[Iterable]) -> Iterator[str]:
    """The CSV text of `header` and `rows`, a thousand rows at a time, starting with a
    byte-order mark so that Excel reads it as UTF-8. Text is made safe (`csv_text`), times are
    local (the time zone current now, not when the stream is read) with their offset, None is
    an empty cell, numbers are written as they are."""
    zone = timezone.get_current_timezone()

    def cell(value):
        if isinstance(value, str):
            return csv_text(value)
        if isinstance(value, datetime):
            return value.astimezone(zone).isoformat(timespec="seconds")
        return value

    def chunks() -> Iterator[str]:
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        buffer.write("\ufeff")
        writer.writerow([cell(value) for value in header])
        for count, row in enumerate(rows, start=1):
            writer.writerow([cell(value) for value in row])
            if count % ROWS_PER_WRITE == 0:
                yield buffer.getvalue()
                buffer.seek(0)
                buffer.truncate()
        yield buffer.getvalue()

    return chunks()


def csv_download(chunks: Iterator[str], filename: str) -> StreamingHttpResponse:
    """An attachment named `filename` (ASCII letters, digits, `._-` only), streamed as
    `chunks` are made."""
    response = StreamingHttpResponse(chunks, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    # Proxies must pass the rows on as they come rather than collect the whole file.
    response["X-Accel-Buffering"] = "no"
    return response
