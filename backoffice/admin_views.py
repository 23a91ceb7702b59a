"""Back-office pages and actions of the admin: import (dry run, then commit; big files as
background jobs with a live progress bar), export and QR labels. backoffice/admin.py adds
these URLs and actions to the admin; the work itself is in backoffice.importing,
backoffice.jobs, backoffice.exporting and backoffice.labels.

An uploaded file is kept under VAR_DIR/imports with a random name between the dry run
and the commit; the session remembers which names belong to this user (a background job
keeps it on the job instead). It is deleted after the commit, on cancel, or after a day.
"""

import logging
import secrets
import time
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlencode

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.core.validators import FileExtensionValidator
from django.http import Http404, HttpResponseRedirect, JsonResponse
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.views.decorators.http import require_http_methods

from backoffice import exporting, jobs, labels
from backoffice.importing import (
    BAG_COLUMNS,
    BAG_REQUIRED,
    BAGS,
    BILL_COLUMNS,
    BILL_REQUIRED,
    BILLS,
    SUPPORTED_SUFFIXES,
    ImportFileError,
    can_import,
    import_file,
)
from backoffice.models import Job, JobStatus
from bags.models import Bag
from tracetrack.codes import normalize_code
from tracetrack.db.replicas import read_alias, stale_reads
from tracetrack.errors import InvalidInput, ServiceError

logger = logging.getLogger(__name__)

SESSION_KEY = "tracetrack_imports"
UPLOAD_MAX_AGE = timedelta(days=1)
IMPORT_COLUMNS = {BAGS: (BAG_COLUMNS, BAG_REQUIRED), BILLS: (BILL_COLUMNS, BILL_REQUIRED)}


# --- URLs ---------------------------------------------------------------------------------


def backoffice_urls(admin_site) -> list:
    """Import pages (bags, bills), background import jobs, QR labels and the whole-table
    exports (bags, scans, bills), under /admin/backoffice/job/."""
    wrap = admin_site.admin_view
    return [
        path("import/bags/", wrap(_import_view(admin_site)), {"kind": BAGS}, name="backoffice_import_bags"),
        path("import/bills/", wrap(_import_view(admin_site)), {"kind": BILLS}, name="backoffice_import_bills"),
        path("import/<str:kind>/", wrap(_import_view(admin_site)), name="backoffice_import"),
        path("<uuid:job_id>/progress/", wrap(_job_view(admin_site)), name="backoffice_job_page"),
        path("<uuid:job_id>/status.json", wrap(_job_status_view), name="backoffice_job_status"),
        path("labels/", wrap(_labels_view(admin_site)), name="bags_bag_labels"),
        path("export/<str:dataset>.<str:fmt>", wrap(_export_view(admin_site)), name="tracetrack_export"),
    ]


# --- Import -------------------------------------------------------------------------------


class ImportUploadForm(forms.Form):
    file = forms.FileField(
        label="CSV or XLSX file",
        validators=[FileExtensionValidator([suffix.lstrip(".") for suffix in SUPPORTED_SUFFIXES])],
    )


def import_dir() -> Path:
    return Path(settings.VAR_DIR) / "imports"


def _store_upload(request, kind: str, uploaded) -> str:
    """Save the upload under a random name that the session remembers; returns the name."""
    folder = import_dir()
    folder.mkdir(parents=True, exist_ok=True)
    _purge_stale_uploads(folder)
    name = secrets.token_hex(16) + Path(uploaded.name).suffix.lower()
    with (folder / name).open("wb") as handle:
        for chunk in uploaded.chunks():
            handle.write(chunk)
    uploads = request.session.get(SESSION_KEY, {})
    uploads[name] = {"kind": kind, "name": Path(uploaded.name).name[:200]}
    request.session[SESSION_KEY] = uploads
    return name


def _stored_upload(request, kind: str, name: str) -> dict | None:
    """The upload `name` of this session and kind, when its file is still there."""
    entry = request.session.get(SESSION_KEY, {}).get(name or "")
    if entry is None or entry["kind"] != kind or not (import_dir() / name).is_file():
        return None
    return {**entry, "file": name, "path": import_dir() / name}


def _discard_upload(request, name: str) -> None:
    uploads = request.session.get(SESSION_KEY, {})
    if uploads.pop(name, None) is not None:
        request.session[SESSION_KEY] = uploads
        (import_dir() / name).unlink(missing_ok=True)


def _purge_stale_uploads(folder: Path) -> None:
    """Uploads whose dry run was never committed nor cancelled."""
    cutoff = time.time() - UPLOAD_MAX_AGE.total_seconds()
    for stale in folder.iterdir():
        try:
            if stale.is_file() and stale.stat().st_mtime < cutoff:
                stale.unlink()
        except FileNotFoundError:
            pass  # removed meanwhile by another request


def _import_view(admin_site):
    @require_http_methods(["GET", "POST"])
    def view(request, kind: str):
        if kind not in IMPORT_COLUMNS:
            raise Http404("No such import.")
        if not can_import(request.user):
            raise PermissionDenied
        model = exporting.DATASETS[kind].model
        opts = model._meta
        columns, required = IMPORT_COLUMNS[kind]
        changelist = reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist")
        context = {
            **admin_site.each_context(request),
            "opts": opts,
            "title": f"Import {kind}",
            "kind": kind,
            "columns": columns,
            "required": required,
            "changelist_url": changelist,
            "form": ImportUploadForm(),
            "job_threshold": settings.IMPORT_JOB_THRESHOLD,
        }
        action = request.POST.get("action") if request.method == "POST" else None
        if action == "dry_run":
            form = ImportUploadForm(request.POST, request.FILES)
            context["form"] = form
            if form.is_valid():
                name = _store_upload(request, kind, form.cleaned_data["file"])
                upload = _stored_upload(request, kind, name)
                if jobs.wants_job(upload["path"]):
                    # Too big for a request: checked (then committed) in the background.
                    try:
                        job = jobs.job_start(user=request.user, kind=kind, path=upload["path"],
                                             file_name=upload["name"])
                    except ServiceError as exc:
                        _discard_upload(request, name)
                        messages.error(request, exc.detail)
                        return HttpResponseRedirect(request.path)
                    _forget_upload(request, name)  # the job keeps the file now
                    return HttpResponseRedirect(reverse("admin:backoffice_job_page", args=[job.pk]))
                report, file_error = _run_import(request, upload, commit=False)
                if report is None:
                    _discard_upload(request, name)
                context.update(report=report, upload=upload, file_error=file_error)
        elif action in ("commit", "cancel"):
            upload = _stored_upload(request, kind, request.POST.get("upload", ""))
            if upload is None:
                messages.error(request, "That upload is no longer available; please upload the file again.")
                return HttpResponseRedirect(request.path)
            if action == "cancel":
                _discard_upload(request, upload["file"])
                messages.info(request, f"Import of {upload['name']} cancelled; nothing was written.")
                return HttpResponseRedirect(changelist)
            report, file_error = _run_import(request, upload, commit=True)
            if report is not None and report.committed:
                _discard_upload(request, upload["file"])
                done = ", ".join(f"{value} {key.replace('_', ' ')}" for key, value in sorted(report.counts.items()))
                messages.success(
                    request,
                    f"Imported {report.rows} rows from {upload['name']} in {report.seconds:.1f} s ({done or 'nothing to do'}).",
                )
                return HttpResponseRedirect(changelist)
            context.update(report=report, upload=upload, file_error=file_error)
        return TemplateResponse(request, "admin/tracetrack/import.html", context)

    return view


def _forget_upload(request, name: str) -> None:
    uploads = request.session.get(SESSION_KEY, {})
    if uploads.pop(name, None) is not None:
        request.session[SESSION_KEY] = uploads


# --- Background import jobs ---------------------------------------------------------------


def _job_for(request, job_id) -> Job:
    if not can_import(request.user):
        raise PermissionDenied
    job = Job.objects.select_related("user").filter(pk=job_id).first()
    if job is None:
        raise Http404("No such import.")
    return job


def _job_view(admin_site):
    """A background import: its live progress, then its dry-run report and the commit (or
    cancel) button, then the outcome. Everything is on the job, so a reload shows the same."""

    @require_http_methods(["GET", "POST"])
    def view(request, job_id):
        job = _job_for(request, job_id)
        if request.method == "POST":
            try:
                if request.POST.get("action") == "commit":
                    jobs.job_commit(user=request.user, job_id=job.pk)
                elif request.POST.get("action") == "cancel":
                    jobs.job_cancel(user=request.user, job_id=job.pk)
                    messages.info(request, f"Import of {job.file_name} cancelled; nothing was written.")
            except ServiceError as exc:
                messages.error(request, exc.detail)
            return HttpResponseRedirect(request.path)
        kind = jobs.IMPORT_OF[job.kind]
        opts = exporting.DATASETS[kind].model._meta
        context = {
            **admin_site.each_context(request),
            "opts": opts,
            "title": f"{job.get_kind_display()} of {job.file_name}",
            "job": job,
            "progress": jobs.job_progress(job),
            "report": jobs.report_from_json(job.report) if job.report else None,
            "problem_count": (job.report or {}).get("problem_count", 0),
            "counts": sorted((job.report or {}).get("counts", {}).items()),
            "changelist_url": reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist"),
            "status_url": reverse("admin:backoffice_job_status", args=[job.pk]),
            "import_url": reverse("admin:backoffice_import", args=[kind]),
            "JobStatus": JobStatus,
        }
        return TemplateResponse(request, "admin/tracetrack/job.html", context)

    return view


@require_http_methods(["GET"])
def _job_status_view(request, job_id):
    """The job page's live progress, polled every second."""
    return JsonResponse(jobs.job_progress(_job_for(request, job_id)))


def _run_import(request, upload, *, commit: bool):
    """The dry run or commit of `upload`: (report, None), or (None, why) for a file that
    cannot be read at all."""
    try:
        report = import_file(
            user=request.user, kind=upload["kind"], path=upload["path"], file_name=upload["name"], commit=commit
        )
    except ImportFileError as exc:
        return None, str(exc)
    return report, None


# --- Export -------------------------------------------------------------------------------


def _export_view(admin_site):
    @require_http_methods(["GET"])
    def view(request, dataset: str, fmt: str):
        chosen = exporting.DATASETS.get(dataset)
        if chosen is None or fmt not in exporting.FORMATS:
            raise Http404("No such export.")
        model_admin = admin_site.get_model_admin(chosen.model)
        if not model_admin.has_view_permission(request):
            raise PermissionDenied
        logger.info("export of all %s as %s by %s", dataset, fmt, request.user.username)
        # Streamed after the view returns: the replica (if any) is chosen now, explicitly.
        with stale_reads():
            alias = read_alias()
        return exporting.export_response(chosen, chosen.model._default_manager.using(alias).all(), fmt)

    return view


def _export_selected(fmt: str):
    @admin.action(description=f"Export selected as {fmt.upper()}")
    def action(modeladmin, request, queryset):
        dataset = exporting.dataset_for(queryset.model)
        logger.info("export of selected %s as %s by %s", dataset.name, fmt, request.user.username)
        return exporting.export_response(dataset, queryset, fmt)

    action.__name__ = f"export_selected_{fmt}"
    return action


export_selected_csv = _export_selected("csv")
export_selected_xlsx = _export_selected("xlsx")


# --- QR labels ----------------------------------------------------------------------------


class LabelRangeForm(forms.Form):
    start = forms.CharField(label="First code", max_length=64, initial="SB00001")
    count = forms.IntegerField(label="How many", min_value=1, max_value=labels.MAX_LABELS, initial=24)
    layout = forms.ChoiceField(
        choices=[(layout.name, layout.title) for layout in labels.LAYOUTS.values()], initial=labels.DEFAULT_LAYOUT
    )


def render_labels(request, codes: list[str], layout_name: str | None, *, range_params: dict | None = None):
    """The printable page. Codes from a range (`range_params`: start and count) switch
    layout by a link; selected codes by posting them back."""
    layout = labels.layout_for(layout_name)
    labels_url = reverse("admin:bags_bag_labels")
    switch_links = None
    if range_params is not None:
        switch_links = [
            (other, f"{labels_url}?{urlencode({**range_params, 'layout': other.name})}")
            for other in labels.LAYOUTS.values()
        ]
    context = {
        "layout": layout,
        "layouts": labels.LAYOUTS.values(),
        "pages": labels.label_pages(codes, layout),
        "codes": codes,
        "count": len(codes),
        "switch_links": switch_links,
        "labels_url": labels_url,
    }
    return TemplateResponse(request, "admin/tracetrack/labels.html", context)


def _labels_view(admin_site):
    @require_http_methods(["GET", "POST"])
    def view(request):
        model_admin = admin_site.get_model_admin(Bag)
        opts = Bag._meta
        if not model_admin.has_view_permission(request):
            raise PermissionDenied
        if request.method == "POST":  # the labels page switching layout for posted codes
            try:
                codes = labels.clean_codes(request.POST.get("codes", ""))
            except InvalidInput as exc:
                messages.error(request, exc.detail)
                return HttpResponseRedirect(request.path)
            return render_labels(request, codes, request.POST.get("layout"))
        form = LabelRangeForm(request.GET if "start" in request.GET else None)
        if form.is_valid():
            data = form.cleaned_data
            try:
                codes = labels.parent_code_range(data["start"], data["count"])
            except InvalidInput as exc:
                for field, field_messages in exc.errors.items():
                    for message in field_messages:
                        form.add_error(field if field in form.fields else None, message)
            else:
                params = {"start": normalize_code(data["start"]), "count": data["count"]}
                return render_labels(request, codes, data["layout"], range_params=params)
        context = {
            **admin_site.each_context(request),
            "opts": opts,
            "title": "Print QR labels for new parent codes",
            "form": form,
            "max_labels": labels.MAX_LABELS,
        }
        return TemplateResponse(request, "admin/tracetrack/label_range.html", context)

    return view


@admin.action(description="Print QR labels")
def print_labels(modeladmin, request, queryset):
    codes = list(queryset.order_by("qr_id").values_list("qr_id", flat=True)[: labels.MAX_LABELS + 1])
    if len(codes) > labels.MAX_LABELS:
        modeladmin.message_user(
            request, f"Select at most {labels.MAX_LABELS} bags to print labels for.", messages.ERROR
        )
        return None
    return render_labels(request, codes, labels.DEFAULT_LAYOUT)
