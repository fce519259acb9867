# expect: saved_tensor_misuse
# Saves x and W, but unpacks three tensors in backward.
import torch


class Linear(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, W, b):
        ctx.save_for_backward(x, W)
        return x @ W.T + b

    @staticmethod
    def backward(ctx, grad_output):
        x, W, b = ctx.saved_tensors
        return grad_output @ W, grad_output.T @ x, grad_output.sum(0)
