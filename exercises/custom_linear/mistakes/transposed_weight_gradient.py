# expect: wrong_backward
# Multiplies in the wrong order for W: x.T @ G has the shape of W.T, not of W.
import torch


class Linear(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, W, b):
        ctx.save_for_backward(x, W)
        return x @ W.T + b

    @staticmethod
    def backward(ctx, grad_output):
        x, W = ctx.saved_tensors
        return grad_output @ W, x.T @ grad_output, grad_output.sum(0)
