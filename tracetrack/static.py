"""Static files: a server with hashed names (STATIC_MANIFEST on, the default with DEBUG off)
must have a manifest from `manage.py collectstatic` that knows every file of static/.
Without it every page — the 404 page too — answered 500 (a missing manifest entry); now
the server refuses to start and says why."""

from pathlib import Path

from django.conf import settings
from django.contrib.staticfiles.storage import staticfiles_storage
from django.core.exceptions import ImproperlyConfigured


def check_manifest() -> None:
    hashed = getattr(staticfiles_storage, "hashed_files", None)
    if hashed is None:  # not a manifest storage (STATIC_MANIFEST=0)
        return
    ours = sorted(
        path.relative_to(folder).as_posix()
        for folder in map(Path, settings.STATICFILES_DIRS)
        for path in folder.rglob("*") if path.is_file()
    )
    missing = [name for name in ours if name not in hashed]
    if missing:
        where = Path(settings.STATIC_ROOT) / "staticfiles.json"
        lacks = f"lacks {len(missing)} of our {len(ours)} files ({', '.join(missing[:5])}{', …' if missing[5:] else ''})"
        raise ImproperlyConfigured(
            f"The static files manifest ({where}) {lacks if hashed else 'is missing'}: "
            "run `manage.py collectstatic --noinput` (as part of every deploy), or set STATIC_MANIFEST=0 to serve "
            "the files without hashed names."
        )
