"""Date and time formats shown in English (the admin's lists and forms): times to the
second, as scans come seconds apart (Django's own English format stops at the minute)."""

DATETIME_FORMAT = "j M Y, H:i:s"
SHORT_DATETIME_FORMAT = "d/m/Y H:i:s"
TIME_FORMAT = "H:i:s"
DATE_FORMAT = "j M Y"
