# expect: saved_tensor_misuse
# Saves the batch size with save_for_backward, which only takes tensors.
import torch


class Linear(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, W, b):
        ctx.save_for_backward(x, W, x.shape[0])
        return x @ W.T + b

    @staticmethod
    def backward(ctx, grad_output):
        x, W, n = ctx.saved_tensors
        return grad_output @ W, grad_output.T @ x, grad_output.sum(0)
