"""Exporting bags, scans and bills as CSV or XLSX, whole tables included, in constant memory.

Rows are read with `values_list(...).iterator(chunk_size=...)`: one query per table
(PostgreSQL streams it through a server-side cursor), every related value joined in, so
the number of queries does not grow with the rows. Both CSV and XLSX (backoffice.xlsx writes the
zip as it goes) are streamed to the client while the rows are read: the first bytes go out
at once and memory stays flat for whole tables. An exported bag file imports back
(backoffice.importing reads the same column names).
"""

import csv
import io
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from django.db.models import Model, QuerySet
from django.http import StreamingHttpResponse
from django.utils import timezone

from backoffice import xlsx
from bags.models import Bag
from billing.models import Bill, BillBag
from scans.models import Scan

CHUNK_SIZE = 2000
CSV_ROWS_PER_WRITE = 1000
# Excel's limit is 1,048,576 rows a sheet, the header included; longer exports go on into
# further sheets ("bags 2", …), each with its own header.
XLSX_MAX_ROWS = xlsx.MAX_ROWS
XLSX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
FORMATS = ("csv", "xlsx")
# Text that a spreadsheet would run as a formula gets a leading quote in CSV (OWASP
# "CSV injection"); backoffice.importing removes it again.
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True)
class Dataset:
    """A table to export: its model and (header, values_list path) columns. `extra`
    appends columns computed from a second ordered query (a bill's parents), still
    without a query per row."""

    name: str
    model: type[Model]
    columns: tuple[tuple[str, str], ...]
    extra: "tuple[str, Callable[[QuerySet], Iterator[tuple[int, str]]]] | None" = None

    @property
    def headers(self) -> list[str]:
        return [header for header, _ in self.columns] + ([self.extra[0]] if self.extra else [])

    def rows(self, queryset: QuerySet) -> Iterator[tuple]:
        """The rows of `queryset` (any filtering of this dataset's model), in id order."""
        paths = [path for _, path in self.columns]
        ordered = queryset.select_related(None).prefetch_related(None).order_by("pk")
        if self.extra is None:
            yield from ordered.values_list(*paths).iterator(chunk_size=CHUNK_SIZE)
            return
        # Merge join: both queries run in id order of the main table.
        extra_rows = self.extra[1](queryset)
        pending = next(extra_rows, None)
        for pk, *values in ordered.values_list("pk", *paths).iterator(chunk_size=CHUNK_SIZE):
            items = []
            while pending is not None and pending[0] <= pk:
                if pending[0] == pk:
                    items.append(pending[1])
                pending = next(extra_rows, None)
            yield (*values, " ".join(items))


def _bill_parents(bills: QuerySet) -> Iterator[tuple[int, str]]:
    places = BillBag.objects.order_by("bill_id", "created_at", "pk")
    if bills.query.has_filters():
        places = places.filter(bill__in=bills.values("pk"))
    return places.values_list("bill_id", "parent__qr_id").iterator(chunk_size=CHUNK_SIZE)


BAGS = Dataset(
    name="bags",
    model=Bag,
    columns=(
        ("qr_id", "qr_id"),
        ("kind", "kind"),
        ("status", "status"),
        ("dispatch_area", "dispatch_area__code"),
        ("parent_qr_id", "parent_link__parent__qr_id"),
        ("child_count", "child_count"),
        # The bill a parent is on (a child's bill is its parent's).
        ("bill_id", "bill_link__bill__bill_id"),
        ("created_by", "created_by__username"),
        ("created_at", "created_at"),
    ),
)
SCANS = Dataset(
    name="scans",
    model=Scan,
    columns=(
        ("scan_id", "scan_id"),
        ("kind", "kind"),
        ("qr_id", "qr_id"),
        ("parent_qr_id", "parent_qr"),
        ("user", "user__username"),
        ("dispatch_area", "dispatch_area__code"),
        ("timestamp", "timestamp"),
        ("undone_at", "undone_at"),
        ("created_bag", "created_bag"),
    ),
)
BILLS = Dataset(
    name="bills",
    model=Bill,
    columns=(
        ("bill_id", "bill_id"),
        ("status", "status"),
        ("capacity", "capacity"),
        ("parent_count", "parent_count"),
        ("destination", "destination"),
        ("vehicle_number", "vehicle_number"),
        ("description", "description"),
        ("created_by", "created_by__username"),
        ("created_at", "created_at"),
        ("completed_at", "completed_at"),
        ("completed_by", "completed_by__username"),
    ),
    extra=("parents", _bill_parents),
)
DATASETS = {dataset.name: dataset for dataset in (BAGS, SCANS, BILLS)}


def dataset_for(model: type[Model]) -> Dataset:
    for dataset in DATASETS.values():
        if dataset.model is model:
            return dataset
    raise LookupError(f"No export for {model.__name__}")


def _column_types(dataset: Dataset) -> list[str]:
    """Per column: "datetime", "bool", "text" or "other", from the model fields, so that
    each value is converted without looking at its type row after row."""
    types = []
    for _, path in dataset.columns:
        model, field = dataset.model, None
        for part in path.split("__"):
            field = model._meta.get_field(part)
            model = field.related_model
        internal = field.get_internal_type()
        types.append(
            "datetime" if internal == "DateTimeField"
            else "bool" if internal == "BooleanField"
            else "text" if internal in ("CharField", "TextField", "SlugField")
            else "other"
        )
    if dataset.extra:
        types.append("text")
    return types


def _converting(rows: Iterator[tuple], converters: list) -> Iterator[list]:
    """`rows` with each non-empty value of a column that has a converter converted."""
    active = [(index, convert) for index, convert in enumerate(converters) if convert is not None]
    for row in rows:
        row = list(row)
        for index, convert in active:
            value = row[index]
            if value is not None:
                row[index] = convert(value)
        yield row


# --- CSV ----------------------------------------------------------------------------------


def _csv_text(value: str) -> str:
    return "'" + value if value.startswith(FORMULA_PREFIXES) else value


def csv_chunks(dataset: Dataset, queryset: QuerySet) -> Iterator[str]:
    """The CSV text of `queryset`, a thousand rows at a time. It starts with a byte-order
    mark so that Excel reads the file as UTF-8. Times are local (TIME_ZONE) with their
    offset; the csv module writes None as an empty field and numbers as they are."""
    zone = timezone.get_current_timezone()
    converters = {
        "datetime": lambda value: value.astimezone(zone).isoformat(timespec="seconds"),
        "bool": lambda value: "true" if value else "false",
        "text": _csv_text,
        "other": None,
    }
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    buffer.write("\ufeff")
    writer.writerow(dataset.headers)
    rows = _converting(dataset.rows(queryset), [converters[kind] for kind in _column_types(dataset)])
    for count, row in enumerate(rows, start=1):
        writer.writerow(row)
        if count % CSV_ROWS_PER_WRITE == 0:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


# --- XLSX ---------------------------------------------------------------------------------


def xlsx_chunks(dataset: Dataset, queryset: QuerySet) -> Iterator[bytes]:
    """The XLSX workbook of `queryset`, streamed as it is read (backoffice.xlsx): the first bytes
    before the query runs, then a piece every few hundred rows. Codes and other text are
    text cells, so "000123" keeps its zeros and "=…" is never a formula (no quote needed,
    unlike CSV); counts are numbers, flags booleans; times are local wall-clock times (Excel
    has no time zones, as the admin shows them) formatted yyyy-mm-dd hh:mm:ss."""
    zone = timezone.get_current_timezone()
    kinds = [{"other": "number"}.get(kind, kind) for kind in _column_types(dataset)]
    converters = [
        (lambda value: value.astimezone(zone).replace(tzinfo=None)) if kind == "datetime" else None
        for kind in kinds
    ]
    rows = _converting(dataset.rows(queryset), converters)
    return xlsx.stream_xlsx(dataset.name, dataset.headers, kinds, rows, max_rows=XLSX_MAX_ROWS)


# --- Responses ----------------------------------------------------------------------------


def export_filename(dataset: Dataset, fmt: str) -> str:
    return f"{dataset.name}-{timezone.localtime():%Y%m%d-%H%M%S}.{fmt}"


def export_response(dataset: Dataset, queryset: QuerySet, fmt: str):
    """A download of `queryset` as CSV or XLSX, streamed while the rows are read."""
    if fmt == "csv":
        response = StreamingHttpResponse(csv_chunks(dataset, queryset), content_type="text/csv; charset=utf-8")
    elif fmt == "xlsx":
        response = StreamingHttpResponse(xlsx_chunks(dataset, queryset), content_type=XLSX_CONTENT_TYPE)
    else:
        raise ValueError(f"Unknown export format {fmt!r}")
    response["Content-Disposition"] = f'attachment; filename="{export_filename(dataset, fmt)}"'
    # Proxies must pass the rows on as they come rather than collect the whole file.
    response["X-Accel-Buffering"] = "no"
    return response
