"""The `calls` kind: each function of the contract called on a case's arguments, and what it
returned (a value, its dtype, requires_grad, is_leaf, grad_fn) compared with the reference's."""

SANDBOX_FILES = ("loop.py", "trace.py")  # mounted into the sandbox; the rest stays outside
