#!/usr/bin/env python
import os
import sys
import uuid


def main():
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tracetrack.settings")
    from django.core.management import execute_from_command_line

    from tracetrack import request_context

    # A command's log lines and audit rows carry the id of its run, as a request's do.
    request_context.bind_process(request_id=f"cmd-{uuid.uuid4().hex}")
    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
