"""Builds the fast engine's compiled core (probe/fast/_engine.pyx) with Cython.

Everything else is in pyproject.toml; `ci/setup` runs the build.
"""
from Cython.Build import cythonize
from setuptools import Extension, setup

setup(ext_modules=cythonize(
    [Extension("probe.fast._engine", ["probe/fast/_engine.pyx"], extra_compile_args=["-O2"])],
    compiler_directives={"language_level": 3}, quiet=True))
