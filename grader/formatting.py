"""Numbers as a report shows them: float32's seven significant digits, a few values of many."""

from __future__ import annotations


def format_values(values: list[float] | None, limit: int = 6) -> str:
    if values is None:
        return "nothing"
    shown = ", ".join(format_number(v) for v in values[:limit])
    return f"[{shown}{', ...' if len(values) > limit else ''}]"


def format_number(value: float | str) -> str:
    if isinstance(value, str):  # "NaN", "Infinity": how strict JSON carries them (json_safe)
        return value
    return f"{value:.7g}"  # float32 carries about 7 significant digits
