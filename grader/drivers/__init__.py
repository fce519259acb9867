"""Exercise kinds, one package each; `grader.registry` finds them and `base.Driver` is their interface.

Mounted into the sandbox (with each kind's `__init__.py` and the files its SANDBOX_FILES names),
so it holds nothing but this docstring.
"""
