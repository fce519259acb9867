# The same layer with einsum: one index per axis, summed where it disappears.
import torch


class Linear(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, W, b):
        ctx.save_for_backward(x, W)
        return torch.einsum("ni,oi->no", x, W) + b

    @staticmethod
    def backward(ctx, grad_output):
        x, W = ctx.saved_tensors
        return torch.einsum("no,oi->ni", grad_output, W), torch.einsum("no,ni->oi", grad_output, x), grad_output.sum(dim=0)
