"""Preflight: read-only checks of the target AWS account before `pulumi up` (docs/preflight.md).

``python -m ops.preflight <stack>`` (or ``--stack <stack>``), ``--json PATH`` for the results as
JSON. :func:`main` takes the arguments after the verb and returns the exit status: 0 no check
failed, 1 at least one failed, 2 the stack file or its config is invalid (or the command line).
"""

from __future__ import annotations

from .checks import run_checks
from .cli import EXIT_CONFIG, EXIT_FAIL, EXIT_OK, main
from .report import Result

__all__ = ["EXIT_CONFIG", "EXIT_FAIL", "EXIT_OK", "Result", "main", "run_checks"]
