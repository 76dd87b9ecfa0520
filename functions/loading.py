"""Load a module by its path, once, for tests (pytest runs with ``--import-mode=importlib``, and
handlers are top-level files, not packages).

Lives beside the function directories, so no Lambda archive carries it: each archive is one
directory's top-level ``.py`` files.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType


def load_module(name: str, path: Path) -> ModuleType:
    """The module at ``path`` under ``name``, executed once; later calls return the same module."""
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, path)
        assert spec and spec.loader, path
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module  # before exec: dataclasses look their module up there
        spec.loader.exec_module(module)
    return sys.modules[name]
