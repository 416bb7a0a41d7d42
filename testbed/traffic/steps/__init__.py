"""The traffic step kinds, one module each; importing this registers them all in STEPS.

A new kind is one module here (its dataclass decorated with `@STEPS.add`) and
its tests: the modules are found by listing this package.
"""
import importlib
import pkgutil

from ..step import STEPS

for _m in pkgutil.iter_modules(__path__):
    importlib.import_module(f"{__name__}.{_m.name}")

__all__ = ["STEPS"]
