"""Importing bags and bills from CSV or XLSX files. The admin's import page and
`manage.py import_bags` share this module.

A file is read whole into small row records (the work must be ordered: parents before
their children), checked for what only the file can tell (missing columns, a code that
appears twice), then every row goes through the services — `bags_create`, `scan_children`,
`bill_create`, `bill_add_parent` — inside one transaction, each refusal recorded against
its row instead of stopping the run. The bag services take a batch (the children of one
parent, a thousand new bags) and judge each item as its own call would, so a big file
costs a few statements per batch instead of a dozen per row, and no savepoint per row. A dry run always rolls that transaction back; a
commit keeps it only when no row was refused (all or nothing) and then writes one audit
row for the import. No business rule lives here: the services decide, this module only
orders the calls and collects the answers.
"""

import csv
import logging
import re
import time
import zipfile
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from datetime import time as dt_time
from pathlib import Path

from django.db import transaction
from openpyxl import load_workbook
from openpyxl.utils.exceptions import InvalidFileException

from accounts.audit import audit
from accounts.models import DispatchArea, User
from accounts.policy import allowed
from accounts.selectors import area_by_code
from bags.codes import normalize_code, parse_code
from bags.models import BagKind
from bags.services import bags_create
from billing.serializers import bill_input
from billing.services import bill_add_parent, bill_create
from scans.services import scan_children
from stats.services import batched_counters
from tracetrack import metrics
from tracetrack.errors import Forbidden, InvalidInput, NotFound, ServiceError

logger = logging.getLogger(__name__)

SUPPORTED_SUFFIXES = (".csv", ".xlsx")
BAGS, BILLS = "bags", "bills"

# Columns read from a file (others, such as an export's `status` or `created_at`, are
# ignored, so that an exported file imports back as it is). The first ones are required.
BAG_COLUMNS = ("qr_id", "kind", "parent_qr_id", "dispatch_area")
BAG_REQUIRED = ("qr_id", "kind")
BILL_COLUMNS = ("bill_id", "capacity", "destination", "vehicle_number", "description", "parents")
BILL_REQUIRED = ("bill_id", "capacity", "destination", "vehicle_number")

# A bill's `parents` cell: codes separated by spaces, semicolons or commas.
PARENT_LIST_SEPARATORS = re.compile(r"[\s;,]+")
# Exports put a quote before text that a spreadsheet would take for a formula
# (backoffice.exporting.csv_safe); reading a CSV removes it again.
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")

PROGRESS_EVERY = 1000
# Children of one parent per `scan_children` call (a parent takes PARENT_CAPACITY).
CHILD_BATCH = 500
# Bags per `bags_create` call.
CREATE_BATCH = 1000
LOG_EVERY = 10_000


class ImportFileError(Exception):
    """The file as a whole cannot be used: unsupported type, unreadable, not UTF-8,
    required columns missing, no rows."""


@dataclass(frozen=True)
class Row:
    """One data row: its place in the file and the wanted columns' text, in order."""

    line: int  # spreadsheet row number; the header is row 1
    sheet: str  # worksheet title when a workbook has several, else ""
    values: tuple[str, ...]

    @property
    def where(self) -> str:
        return f"{self.sheet} row {self.line}" if self.sheet else f"row {self.line}"


@dataclass
class Problem:
    """A refused row: where it is, the code it names and every reason, as
    (error code, message) pairs."""

    index: int
    where: str
    code: str
    reasons: list[tuple[str, str]] = field(default_factory=list)


@dataclass
class ImportReport:
    """What a dry run or a commit found. `counts` says what the good rows did (bags
    created, links made, …); after a rollback nothing of it was kept."""

    kind: str
    file_name: str
    rows: int = 0
    problems: list[Problem] = field(default_factory=list)
    counts: Counter = field(default_factory=Counter)
    committed: bool = False
    seconds: float = 0.0

    @property
    def good_rows(self) -> int:
        return self.rows - len(self.problems)

    @property
    def rate(self) -> float:
        return self.rows / self.seconds if self.seconds > 0 else 0.0


ProgressCallback = Callable[[int, int], None]


# --- Reading files ------------------------------------------------------------------------


def read_rows(path: Path, *, columns: Sequence[str], required: Sequence[str]) -> list[Row]:
    """Every non-blank data row of a CSV or XLSX file, with the text of `columns` (an
    absent optional column reads as ""). Raises ImportFileError for a file that cannot be
    used at all."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".csv":
        return list(_csv_rows(path, columns, required))
    if suffix == ".xlsx":
        return list(_xlsx_rows(path, columns, required))
    raise ImportFileError(f"Unsupported file type {suffix or '(none)'!r}: upload a .csv or .xlsx file.")


def _column_positions(header: Sequence, columns: Sequence[str], required: Sequence[str], *, where: str) -> list:
    names = [_cell_text(cell).lower() for cell in header]
    missing = [name for name in required if name not in names]
    if missing:
        raise ImportFileError(
            f"{where}: missing column(s) {', '.join(missing)}. The first row must name the columns "
            f"({', '.join(columns)})."
        )
    return [names.index(name) if name in names else None for name in columns]


def _pick(cells: Sequence, positions: list) -> tuple[str, ...]:
    return tuple(_cell_text(cells[i]) if i is not None and i < len(cells) else "" for i in positions)


def _cell_text(value) -> str:
    """A cell as trimmed text. Spreadsheets store digit-only codes and capacities as
    numbers (10 → 10.0): whole numbers are written without the decimal point."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime | date | dt_time):
        return value.isoformat()
    return str(value).strip()


def _csv_rows(path: Path, columns, required) -> Iterator[Row]:
    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            first_line = handle.readline()
            handle.seek(0)
            # Spreadsheets in many locales save CSV with semicolons (or tabs): the header
            # line tells which one this file uses.
            delimiter = max((",", ";", "\t"), key=first_line.count)
            reader = csv.reader(handle, delimiter=delimiter)
            header = next(reader, None)
            if header is None:
                raise ImportFileError("The file is empty.")
            positions = _column_positions(header, columns, required, where="The file")
            for line, cells in enumerate(reader, start=2):
                values = tuple(_unquote_formula(value) for value in _pick(cells, positions))
                if any(values):
                    yield Row(line=line, sheet="", values=values)
    except UnicodeDecodeError:
        raise ImportFileError("The file is not UTF-8 text; save it from the spreadsheet as 'CSV UTF-8'.") from None
    except csv.Error as exc:
        raise ImportFileError(f"The file is not valid CSV: {exc}.") from None


def _unquote_formula(value: str) -> str:
    if len(value) > 1 and value[0] == "'" and value[1] in FORMULA_PREFIXES:
        return value[1:]
    return value


def _xlsx_rows(path: Path, columns, required) -> Iterator[Row]:

    try:
        # read_only streams the sheet XML instead of building every cell object.
        workbook = load_workbook(path, read_only=True, data_only=True)
    except (InvalidFileException, zipfile.BadZipFile, KeyError, ValueError, OSError):
        raise ImportFileError("The file is not a readable .xlsx workbook.") from None
    try:
        sheets = workbook.worksheets
        several = len(sheets) > 1
        used = 0
        for sheet in sheets:
            # Files written by other programs may carry a wrong size; read to the real end.
            sheet.reset_dimensions()
            rows = sheet.iter_rows(values_only=True)
            header = next(rows, None)
            if header is None or not any(_cell_text(cell) for cell in header):
                continue  # an empty sheet
            names = {_cell_text(cell).lower() for cell in header}
            if several and not names.intersection(required):
                continue  # a notes sheet or similar beside the data
            positions = _column_positions(header, columns, required, where=f"Sheet {sheet.title!r}")
            used += 1
            title = sheet.title if several else ""
            for line, cells in enumerate(rows, start=2):
                values = _pick(cells, positions)
                if any(values):
                    yield Row(line=line, sheet=title, values=values)
        if not used:
            raise ImportFileError(f"No sheet has the columns {', '.join(required)}.")
    finally:
        workbook.close()


def count_rows(path: Path) -> int:
    """About how many data rows the file has, without reading them (it chooses between the
    request and a background job): lines of a CSV, the sheets' row counts of a workbook."""
    suffix = path.suffix.lower()
    try:
        if suffix == ".csv":
            with path.open("rb") as handle:
                return max(0, sum(1 for _ in handle) - 1)
        if suffix == ".xlsx":
            workbook = load_workbook(path, read_only=True)
            try:
                return sum(max(0, (sheet.max_row or 1) - 1) for sheet in workbook.worksheets)
            finally:
                workbook.close()
    except (OSError, zipfile.BadZipFile, ValueError, KeyError):
        return 0
    return 0


# --- Running an import --------------------------------------------------------------------


def import_file(
    *, user: User, kind: str, path: Path, file_name: str, commit: bool, progress: ProgressCallback | None = None
) -> ImportReport:
    """Dry-run or commit the bag or bill file at `path` (see the module docstring).
    Admins only. Raises ImportFileError when the file cannot be read at all."""
    if kind == BAGS:
        return import_bags(user=user, path=path, file_name=file_name, commit=commit, progress=progress)
    if kind == BILLS:
        return import_bills(user=user, path=path, file_name=file_name, commit=commit, progress=progress)
    raise ValueError(f"Unknown import kind {kind!r}")


def import_bags(
    *, user: User, path: Path, file_name: str, commit: bool, progress: ProgressCallback | None = None
) -> ImportReport:
    """Bags from rows of `qr_id`, `kind`, `parent_qr_id` (optional) and `dispatch_area`
    (optional; a linked child takes its parent's area). Parents, and children on no
    parent, are made by `bags_create`; a child with a parent is scanned into it by
    `scan_children` once every parent of the file exists, which makes the child when it is
    new, as an operator's scan would. An existing child is not made again but may still
    go into the parent its row names (the scan decides: pending, already linked, …)."""
    _require_admin(user)
    rows = read_rows(path, columns=BAG_COLUMNS, required=BAG_REQUIRED)
    return _run(kind=BAGS, user=user, file_name=file_name, commit=commit,
                work=lambda report: _BagImport(user, rows, report, progress).run())


def import_bills(
    *, user: User, path: Path, file_name: str, commit: bool, progress: ProgressCallback | None = None
) -> ImportReport:
    """Bills from rows of `bill_id`, `capacity`, `destination`, `vehicle_number`,
    `description` (optional) and `parents` (optional: parent codes separated by spaces or
    semicolons), through `bill_create` and `bill_add_parent`."""
    _require_admin(user)
    rows = read_rows(path, columns=BILL_COLUMNS, required=BILL_REQUIRED)
    return _run(kind=BILLS, user=user, file_name=file_name, commit=commit,
                work=lambda report: _BillImport(user, rows, report, progress).run())


def can_import(user: User | None) -> bool:
    """Imports are for admins only (accounts.policy, "import")."""
    return allowed(user, "import")


def _require_admin(user: User) -> None:
    if not can_import(user):
        raise Forbidden(detail="Only admins may import files.")


class _Rollback(Exception):
    pass


def _run(*, kind: str, user: User, file_name: str, commit: bool, work: Callable[[ImportReport], None]) -> ImportReport:
    """Run `work` in one transaction; keep it only for a commit in which no row was
    refused. Any other error rolls everything back and propagates."""
    report = ImportReport(kind=kind, file_name=file_name)
    started = time.monotonic()
    try:
        with transaction.atomic():
            with batched_counters():
                work(report)
            if not commit or report.problems:
                raise _Rollback
            audit(
                actor=user,
                action=f"import.{kind}",
                entity_type="import",
                entity_id=file_name[:100],
                after={"rows": report.rows, **report.counts},
            )
            report.committed = True
    except _Rollback:
        pass
    if report.committed:
        metrics.IMPORTS.labels(kind, "committed").inc()
        metrics.IMPORT_ROWS.labels(kind).inc(report.rows)
    else:
        metrics.IMPORTS.labels(kind, "refused" if commit else "dry_run").inc()
    report.seconds = time.monotonic() - started
    logger.info(
        "%s import of %s by %s: %d rows, %d refused, %s in %.1fs (%.0f rows/s)",
        kind, file_name, user.username, report.rows, len(report.problems),
        "committed" if report.committed else "rolled back", report.seconds, report.rate,
    )
    return report


def _reasons(exc: ServiceError) -> list[tuple[str, str]]:
    if isinstance(exc, InvalidInput) and exc.errors:
        return [(exc.code, message) for messages in exc.errors.values() for message in messages]
    return [(exc.code, exc.detail)]


class _Importer:
    """Shared bookkeeping: problems by row, progress."""

    def __init__(self, user: User, rows: list[Row], report: ImportReport, progress: ProgressCallback | None):
        self.user, self.rows, self.report, self.progress = user, rows, report, progress
        self.problems: dict[int, Problem] = {}
        self.done = 0
        self.started = time.monotonic()
        report.rows = len(rows)

    def refuse(self, index: int, code: str, reasons: list[tuple[str, str]]) -> None:
        problem = self.problems.get(index)
        if problem is None:
            problem = self.problems[index] = Problem(index=index, where=self.rows[index].where, code=code)
        problem.reasons.extend(reasons)

    def attempt(self, index: int, code: str, service: Callable[..., object], **kwargs) -> bool:
        """Call one service; a refusal is recorded against the row."""
        try:
            service(**kwargs)
        except ServiceError as exc:
            self.refuse(index, code, _reasons(exc))
            return False
        return True

    def step(self) -> None:
        self.done += 1
        total = len(self.rows)
        if self.progress and (self.done % PROGRESS_EVERY == 0 or self.done == total):
            self.progress(self.done, total)
        if self.done % LOG_EVERY == 0:
            elapsed = time.monotonic() - self.started
            logger.info("import: %d of %d rows (%.0f rows/s)", self.done, total, self.done / max(elapsed, 1e-9))

    def finish(self) -> None:
        self.report.problems = [self.problems[index] for index in sorted(self.problems)]


@dataclass
class _BagRow:
    index: int
    code: str
    kind: str
    parent: str
    area: str


class _BagImport(_Importer):
    def run(self) -> None:
        parents, children = self.check_file()
        areas = self.resolve_areas(parents + children)
        # Parents first: their children's rows may come before them in the file.
        self.create_bags([row for row in parents if self.attempt_area(row, areas)], areas)
        refused_parents = {
            code: self.rows[index].where for code, index in self.parent_rows.items() if index in self.problems
        }
        by_parent: dict[str, list[_BagRow]] = {}
        for row in children:
            if row.parent:
                by_parent.setdefault(row.parent, []).append(row)
        self.create_bags([row for row in children if not row.parent and self.attempt_area(row, areas)], areas)
        for parent, rows in by_parent.items():
            for start in range(0, len(rows), CHILD_BATCH):
                self.import_children(parent, rows[start:start + CHILD_BATCH], refused_parents)
        self.finish()

    def check_file(self) -> tuple[list[_BagRow], list[_BagRow]]:
        """What the file alone tells: kind, code formats, a parent row with a parent, and
        codes that appear twice. Rows refused here go no further."""
        seen: dict[str, str] = {}
        self.parent_rows: dict[str, int] = {}  # parent code → its first row, refused or not
        parents: list[_BagRow] = []
        children: list[_BagRow] = []
        for index, source in enumerate(self.rows):
            raw_code, raw_kind, raw_parent, area = source.values
            code, kind, parent = normalize_code(raw_code), raw_kind.strip().lower(), normalize_code(raw_parent)
            reasons: list[tuple[str, str]] = []
            if kind not in BagKind.values:
                reasons.append(("invalid", "Kind must be 'parent' or 'child'."))
            else:
                try:
                    parse_code(code, kind)
                except InvalidInput as exc:
                    reasons.extend(_reasons(exc))
            if parent:
                if kind == BagKind.PARENT:
                    reasons.append(("invalid", "A parent bag cannot go into another parent; leave parent_qr_id empty."))
                else:
                    try:
                        parse_code(parent, BagKind.PARENT, field="parent_qr_id")
                    except InvalidInput as exc:
                        reasons.extend(_reasons(exc))
            if kind == BagKind.PARENT and code:
                self.parent_rows.setdefault(code, index)
            if code and code in seen:
                reasons.append(("duplicate", f"{code} is also on {seen[code]} of this file."))
            elif code:
                seen[code] = source.where
            if reasons:
                self.refuse(index, code or raw_code, reasons)
                self.step()
                continue
            row = _BagRow(index=index, code=code, kind=kind, parent=parent, area=area)
            (parents if kind == BagKind.PARENT else children).append(row)
        return parents, children

    def resolve_areas(self, rows: list[_BagRow]) -> dict[str, "DispatchArea | ServiceError | None"]:
        """Each area code of the file looked up once (a linked child ignores its area)."""
        areas: dict[str, DispatchArea | ServiceError | None] = {}
        for row in rows:
            if row.area not in areas and not row.parent:
                try:
                    areas[row.area] = area_by_code(row.area)
                except ServiceError as exc:
                    areas[row.area] = exc
        return areas

    def attempt_area(self, row: _BagRow, areas) -> bool:
        """False (and the row refused) when its area code is unknown."""
        area = areas.get(row.area)
        if isinstance(area, ServiceError):
            self.refuse(row.index, row.code, _reasons(area))
            self.step()
            return False
        return True

    def create_bags(self, rows: list[_BagRow], areas) -> None:
        """Parents, and children on no parent, made by `bags_create` in batches."""
        for start in range(0, len(rows), CREATE_BATCH):
            batch = rows[start:start + CREATE_BATCH]
            outcomes = bags_create(user=self.user, bags=[(row.code, row.kind, areas.get(row.area)) for row in batch])
            for row, outcome in zip(batch, outcomes, strict=True):
                if isinstance(outcome, ServiceError):
                    self.refuse(row.index, row.code, _reasons(outcome))
                else:
                    self.report.counts["parents_created" if row.kind == BagKind.PARENT else "children_created"] += 1
                self.step()

    def import_children(self, parent: str, rows: list[_BagRow], refused_parents: dict[str, str]) -> None:
        """Children with a parent are scanned into it by `scan_children`, one call per
        parent, which makes each bag when it is new (as an operator's scan would) and
        judges an existing one (`is_parent`, `already_linked`, …) and the parent's capacity
        exactly as one scan after another would."""
        try:
            outcomes = scan_children(user=self.user, parent_qr=parent, qr_ids=[row.code for row in rows])
        except NotFound as exc:
            if parent in refused_parents:
                reasons = [("parent_refused", f"Its parent {parent} ({refused_parents[parent]}) is refused.")]
            else:
                reasons = _reasons(exc)
            outcomes = [None] * len(rows)
            for row in rows:
                self.refuse(row.index, row.code, reasons)
        except ServiceError as exc:
            outcomes = [None] * len(rows)
            for row in rows:
                self.refuse(row.index, row.code, _reasons(exc))
        for row, outcome in zip(rows, outcomes, strict=True):
            if isinstance(outcome, ServiceError):
                self.refuse(row.index, row.code, _reasons(outcome))
            elif outcome is not None and outcome.duplicate:
                self.refuse(row.index, row.code, [("bag_exists", f"{row.code} is already in parent {parent}.")])
            elif outcome is not None:
                if outcome.created:
                    self.report.counts["children_created"] += 1
                self.report.counts["links_made"] += 1
            self.step()


class _BillImport(_Importer):
    def run(self) -> None:
        seen_bills: dict[str, str] = {}
        seen_parents: dict[str, str] = {}
        for index, source in enumerate(self.rows):
            raw_id, capacity, destination, vehicle_number, description, parents_cell = source.values
            code = normalize_code(raw_id)
            if code and code in seen_bills:
                # Also the same bill's parents are not checked again.
                self.refuse(index, code, [("duplicate", f"Bill {code} is also on {seen_bills[code]} of this file.")])
                self.step()
                continue
            seen_bills[code] = source.where
            parents = self.check_parents(index, code, parents_cell, seen_parents, source.where)
            created = self.attempt(
                index, code, lambda **fields: bill_create(user=self.user, **bill_input(fields)), bill_id=code,
                capacity=capacity, destination=destination, vehicle_number=vehicle_number, description=description,
            )
            if created:
                self.report.counts["bills_created"] += 1
                for parent in parents:
                    if self.attempt(index, code, bill_add_parent, user=self.user, bill_id=code, parent_qr=parent):
                        self.report.counts["parents_added"] += 1
            self.step()
        self.finish()

    def check_parents(self, index: int, code: str, cell: str, seen: dict[str, str], where: str) -> list[str]:
        """The well-formed parent codes of a row that no earlier row lists; the others are
        refused here."""
        parents = []
        for raw in PARENT_LIST_SEPARATORS.split(cell.strip()):
            if not raw:
                continue
            try:
                parent = parse_code(raw, BagKind.PARENT, field="parents")
            except InvalidInput as exc:
                self.refuse(index, code, _reasons(exc))
                continue
            if parent in seen:
                self.refuse(index, code, [("duplicate", f"{parent} is also listed on {seen[parent]} of this file.")])
                continue
            seen[parent] = where
            parents.append(parent)
        return parents
