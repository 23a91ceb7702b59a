"""Codes — bag codes and bill ids — are matched after trimming and upper-casing (API.md,
Values): in paths, bodies, filters, searches and files alike. This is the one place that
says how."""


def normalize_code(raw) -> str:
    return str(raw if raw is not None else "").strip().upper()
