"""Import an AWS Copilot workspace as this platform's stack config (docs/migrating-from-copilot.md).

``manifests`` reads and checks the manifests and applies Copilot's environment overrides and
variables; ``mapping`` maps services and jobs (and the environment manifest), ``pipelines`` the
pipeline, ``schedules`` a job's schedule; ``report`` collects what happened to every key; ``cli``
is ``python -m ops import-copilot``.
"""

from .cli import EXIT_INPUT, EXIT_INVALID, EXIT_OK, main

__all__ = ["EXIT_INPUT", "EXIT_INVALID", "EXIT_OK", "main"]
