from django.apps import AppConfig


class DemoConfig(AppConfig):
    """Data for trying TraceTrack out and for measuring it: `seed_demo` (the embedded
    default's demo users and bags) and `seed_bags` (a million-bag data set for the bench).
    Above every other app: it fills them all."""

    name = "demo"
