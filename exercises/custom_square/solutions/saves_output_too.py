# Saves the input and the output (only the input is needed), and returns a one-element tuple.
import torch


class Square(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        y = x.pow(2)
        ctx.save_for_backward(x, y)
        return y

    @staticmethod
    def backward(ctx, grad_output):
        x, _ = ctx.saved_tensors
        return (grad_output * x * 2,)
