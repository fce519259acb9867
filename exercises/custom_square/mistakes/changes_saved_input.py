# expect: saved_tensor_misuse
# Squares the saved input in place to "save memory": backward then reads x ** 2 instead of x.
import torch


class Square(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        y = x.clone()
        x.mul_(x)
        return y * y

    @staticmethod
    def backward(ctx, grad_output):
        (x,) = ctx.saved_tensors
        return grad_output * 2 * x
