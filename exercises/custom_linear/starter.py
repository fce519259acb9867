import torch


class Linear(torch.autograd.Function):
    """y = x @ W.T + b, with a hand-written backward for x, W and b."""

    @staticmethod
    def forward(ctx, x, W, b):
        # Save what backward needs, then return the output.
        raise NotImplementedError("write Linear.forward")

    @staticmethod
    def backward(ctx, grad_output):
        # Return dL/dx, dL/dW and dL/db, in this order.
        raise NotImplementedError("write Linear.backward")
