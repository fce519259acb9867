"""A submission handed in as a Jupyter notebook, turned into the Python its code cells hold.

Read and validated with nbformat (any version it reads, converted to v4). The code cells run in
order, as "Run all" would; IPython's own syntax is no Python and is skipped with a note: a cell
magic (`%%timeit`) skips its cell, a line magic or shell line (`%matplotlib inline`, `!pip ...`)
its line. Skipped lines become blank, so that each line of the program is its own line in
`Program.cells`, which says where it came from for messages that quote the student's code.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import nbformat

IPYTHON_PREFIXES = ("%", "!")
MAX_NOTED = 5  # skipped lines named in the note; the rest are counted


@dataclass(frozen=True)
class Program:
    source: str
    cells: tuple[tuple[int, int], ...]  # per line of `source`: (code cell number, line in that cell), from 1
    notes: tuple[str, ...]  # what was done to the notebook to run it


class NotANotebook(ValueError):
    """The file looks like a notebook but cannot be read as one; the message says why."""


def looks_like_notebook(data: bytes, filename: str | None = None) -> bool:
    """A `.ipynb` name, or JSON text whose top level names notebook cells."""
    if filename is not None and filename.lower().endswith(".ipynb"):
        return True
    head = data.lstrip()[:1]
    if head != b"{":
        return False
    try:
        parsed = json.loads(data)
    except (ValueError, RecursionError):
        return False
    return isinstance(parsed, dict) and "cells" in parsed and "nbformat" in parsed


def program_of(data: bytes) -> Program:
    """The notebook's code cells as one program; NotANotebook when nbformat cannot read it."""
    try:
        notebook = nbformat.reads(data.decode("utf-8"), as_version=4)
        nbformat.validate(notebook)
    except (UnicodeDecodeError, ValueError, RecursionError, nbformat.ValidationError, KeyError, TypeError, AttributeError) as error:
        raise NotANotebook(f"This file is not a notebook Jupyter can open ({type(error).__name__}: {str(error)[:200]}).") from None
    lines: list[str] = []
    cells: list[tuple[int, int]] = []
    skipped: list[str] = []
    code_cells = [cell for cell in notebook.cells if cell.cell_type == "code"]
    for number, cell in enumerate(code_cells, start=1):
        text = cell.source if isinstance(cell.source, str) else "".join(cell.source)
        whole_cell_magic = text.lstrip().startswith("%%")
        for index, line in enumerate(text.splitlines(), start=1):
            if whole_cell_magic or line.lstrip().startswith(IPYTHON_PREFIXES):
                if line.strip():
                    skipped.append(f"`{line.strip()[:80]}` (cell {number})")
                line = ""
            lines.append(line)
            cells.append((number, index))
    notes = ()
    if skipped:
        named = ", ".join(skipped[:MAX_NOTED]) + (f" and {len(skipped) - MAX_NOTED} more" if len(skipped) > MAX_NOTED else "")
        notes = (f"Skipped {len(skipped)} IPython line(s), which are not Python: {named}.",)
    return Program(source="\n".join(lines) + "\n", cells=tuple(cells), notes=notes)
