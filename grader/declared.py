"""The tensor values exercise.toml declares (`spec.Reader.tensor_value`), made with torch.

A literal number or nested list, `{fill = "ones"|"zeros", shape}`, or `{randn = shape}` drawn
from the case's own generator; every kind that takes tensors from exercise.toml makes them here.
"""

from __future__ import annotations

from typing import Any

import torch


def tensor_from(value: Any, generator: torch.Generator, dtype: torch.dtype) -> torch.Tensor:
    if isinstance(value, dict) and "randn" in value:
        return torch.randn(*value["randn"], generator=generator, dtype=dtype)
    if isinstance(value, dict):
        return (torch.ones if value["fill"] == "ones" else torch.zeros)(*value["shape"], dtype=dtype)
    return torch.tensor(value, dtype=dtype)
