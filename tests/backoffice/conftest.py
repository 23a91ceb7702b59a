"""Fixtures for the back-office pages: an admin client, import files, uploads."""

import csv
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

BAG_IMPORT_URL = "admin:backoffice_import_bags"
BILL_IMPORT_URL = "admin:backoffice_import_bills"


@pytest.fixture(autouse=True)
def _private_var_dir(settings, tmp_path):
    """Uploads kept between dry run and commit go to this test's own folder."""
    settings.VAR_DIR = tmp_path / "var"


@pytest.fixture
def admin_client(client, admin_user):
    client.force_login(admin_user)
    return client


def csv_bytes(rows: list[list], *, delimiter: str = ",") -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter)
    writer.writerows(rows)
    return buffer.getvalue().encode("utf-8")


def xlsx_bytes(rows: list[list], *, sheets: dict[str, list[list]] | None = None) -> bytes:
    from openpyxl import Workbook

    workbook = Workbook()
    workbook.active.title = "bags"
    for row in rows:
        workbook.active.append(row)
    for title, sheet_rows in (sheets or {}).items():
        sheet = workbook.create_sheet(title)
        for row in sheet_rows:
            sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def upload(client, url_name: str, name: str, content: bytes):
    """The dry run of a file through the import page."""
    return client.post(reverse(url_name), {"action": "dry_run", "file": SimpleUploadedFile(name, content)})


def commit(client, url_name: str, response):
    """Press the preview's Import button."""
    token = response.context["upload"]["file"]
    return client.post(reverse(url_name), {"action": "commit", "upload": token})


def bag_rows(parents: int, children_per_parent: int, *, start: int = 1, child_prefix: str = "CH") -> list[list]:
    """A header and `parents` parents, each followed by its children (parents after their
    children for every second parent, to check the ordering)."""
    rows: list[list] = [["qr_id", "kind", "parent_qr_id"]]
    number = 0
    for p in range(start, start + parents):
        parent = f"SB{p:05d}"
        children = []
        for _ in range(children_per_parent):
            number += 1
            children.append([f"{child_prefix}{p:05d}{number:06d}", "child", parent])
        if p % 2:
            rows += [[parent, "parent", ""], *children]
        else:
            rows += [*children, [parent, "parent", ""]]
    return rows
