"""Load code by its path, for tests (pytest runs with ``--import-mode=importlib``, and a function's
modules are top-level files, not packages).

Lives beside the function directories, so no Lambda archive carries it: each archive is one
directory's top-level ``.py`` files.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
from pathlib import Path
from types import ModuleType, SimpleNamespace

_FUNCTIONS: dict[Path, SimpleNamespace] = {}


def load_module(name: str, path: Path) -> ModuleType:
    """The module at ``path`` under ``name``, executed once; later calls return the same module."""
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, path)
        assert spec and spec.loader, path
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module  # before exec: dataclasses look their module up there
        spec.loader.exec_module(module)
    return sys.modules[name]


def load_function(directory: Path) -> SimpleNamespace:
    """A function's top-level modules, imported as Lambda imports them (``import config`` from
    ``handler.py`` finds ``config.py`` beside it), once; attributes by module name.

    Two functions may each have a ``handler`` or a ``config`` module. Their plain names are in
    ``sys.modules`` only while one function's modules are imported; afterwards each is kept as
    ``<directory>.<module>`` and whatever held the plain name before is put back.
    """
    directory = directory.resolve()
    if directory in _FUNCTIONS:
        return _FUNCTIONS[directory]
    names = sorted(p.stem for p in directory.glob("*.py"))
    held = {n: sys.modules.pop(n) for n in names if n in sys.modules}
    sys.path.insert(0, str(directory))
    try:
        modules = {n: importlib.import_module(n) for n in names}
    finally:
        sys.path.remove(str(directory))
        for n in names:
            sys.modules.pop(n, None)
        sys.modules.update(held)
    for n, module in modules.items():
        sys.modules[f"{directory.name}.{n}"] = module
    _FUNCTIONS[directory] = SimpleNamespace(**modules)
    return _FUNCTIONS[directory]
