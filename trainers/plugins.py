"""The one discovery rule for plug-in folders (trainers/objectives, trainers/tasks): every non-underscore module
of a package is a plug-in, imported by name order, so adding one touches only its own file."""
from __future__ import annotations

import importlib
import pkgutil
from types import ModuleType


def plugin_modules(package: str, path) -> list[ModuleType]:
    """The package's non-underscore modules (``path``: the package's ``__path__``), imported, by name."""
    return [importlib.import_module(f"{package}.{info.name}")
            for info in sorted(pkgutil.iter_modules(path), key=lambda m: m.name) if not info.name.startswith("_")]
