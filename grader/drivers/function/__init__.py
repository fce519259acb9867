"""The `function` kind: the student's own `torch.autograd.Function` (forward and a hand-written
backward), evaluated on each case's inputs in float64; its outputs and vector-Jacobian products
are compared with the reference's outside the sandbox (gradcheck's idea, judged on the trusted side)."""

SANDBOX_FILES = ("loop.py", "trace.py")  # mounted into the sandbox; the rest stays outside
