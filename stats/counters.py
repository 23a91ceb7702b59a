"""The counted figures, declared once: each one's name, what changes it, and how a recount
computes it from the tables. The services say what happened (`Tally.bag_made`,
`Tally.child_linked`, …, in stats.services) and never name a figure; the recount and
the drift check (stats.recount), the stats API and the dashboard (reports) read these
declarations.

The tables a recount reads are named by their app label and model ("bags.Bag"): the
counters sit below the domain (layers point one way) and count its rows without importing
it; the app registry finds the models when a recount runs.
"""

from dataclasses import dataclass, field

from django.apps import apps
from django.db.models import Model


@dataclass(frozen=True)
class Figure:
    name: str  # the stored metric and, with `reported_as`, where the stats API shows it
    counts: str  # the table it counts: "app_label.Model"
    where: dict = field(default_factory=dict)  # which of its rows
    per_area: bool = True  # kept per dispatch area (the rows' dispatch_area), else overall
    changed_by: str = ""  # the events that move it
    reported_as: tuple[str, str] = ("", "")  # (group, key) in GET /api/v1/stats/

    def model(self) -> type[Model]:
        return apps.get_model(self.counts)


FIGURES: tuple[Figure, ...] = (
    Figure("parents", "bags.Bag", {"kind": "parent"},
           changed_by="a parent made (a new parent scanned, created, imported) or deleted",
           reported_as=("bags", "parents")),
    Figure("children", "bags.Bag", {"kind": "child"},
           changed_by="a child made or deleted; a pending child linked into a parent of another area moves there",
           reported_as=("bags", "children")),
    Figure("completed_parents", "bags.Bag", {"kind": "parent", "status": "completed"},
           changed_by="a parent reaching or leaving its capacity, or deleted while full",
           reported_as=("bags", "completed_parents")),
    Figure("unlinked_children", "bags.Bag", {"kind": "child", "status": "pending"},
           changed_by="a child made on no parent, linked, unlinked by an undo, freed by its parent's deletion, "
                      "or deleted", reported_as=("bags", "unlinked_children")),
    Figure("bills_new", "billing.Bill", {"status": "new"}, per_area=False,
           changed_by="a bill made, getting its first parent or losing its last, reopened empty, or deleted",
           reported_as=("bills", "new")),
    Figure("bills_in_progress", "billing.Bill", {"status": "in_progress"}, per_area=False,
           changed_by="a bill getting parents, completed, reopened, or deleted", reported_as=("bills", "in_progress")),
    Figure("bills_completed", "billing.Bill", {"status": "completed"}, per_area=False,
           changed_by="a bill completed or reopened", reported_as=("bills", "completed")),
)
BY_NAME = {figure.name: figure for figure in FIGURES}
BAG_FIGURES = tuple(f.name for f in FIGURES if f.reported_as[0] == "bags")
BILL_FIGURES = tuple(f.name for f in FIGURES if f.reported_as[0] == "bills")
ALL_FIGURES = BAG_FIGURES + BILL_FIGURES

# The scan log: every scan row adds to the day, hour and minute tallies of its area and to
# its operator's day (Tally.scan); "today" and "last hour" are read from them.
SCAN_LOG = "scans.Scan"


def scan_log() -> type[Model]:
    return apps.get_model(SCAN_LOG)


def bill_figure(status: str) -> str:
    return f"bills_{status}"
