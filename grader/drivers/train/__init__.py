"""The `train` kind: the student's `forward`, `loss` and `update(lr)` driven over a training run,
each step judged as a transition from the student's own state."""

SANDBOX_FILES = ("loop.py", "trace.py")  # mounted into the sandbox; the rest stays outside
