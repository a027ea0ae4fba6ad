"""Lazy public names for a package's ``__init__`` (PEP 562 module ``__getattr__``).

A package lists ``name -> defining module`` and binds the two functions this returns as its
``__getattr__`` and ``__dir__``: importing the package imports none of those modules, and a
name's module is imported the first time the name is used (then cached in the package's
namespace, so later lookups are plain attribute reads).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any


def lazy_names(package: str, namespace: dict[str, Any],
               names: Mapping[str, str]) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """``(__getattr__, __dir__)`` for ``package`` whose globals are ``namespace``.

    ``names`` maps each public name to the module that defines it; a name equal to its
    module's last component (``"datasets": "riskset.datasets"``) is the module itself.
    """

    def __getattr__(name: str) -> Any:
        module = names.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        mod = importlib.import_module(module)
        value = mod if module == f"{package}.{name}" else getattr(mod, name)
        namespace[name] = value
        return value

    def __dir__() -> list[str]:
        return sorted(set(namespace) | set(names))

    return __getattr__, __dir__
