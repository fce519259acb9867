"""Exercise statements: Markdown with $math$, rendered to HTML that KaTeX finishes in the browser."""

from __future__ import annotations

from functools import lru_cache

from markdown_it import MarkdownIt
from markupsafe import Markup
from mdit_py_plugins.dollarmath import dollarmath_plugin


@lru_cache(maxsize=1)
def _markdown() -> MarkdownIt:
    # html off: a statement cannot carry raw HTML or scripts, even from an instructor.
    return MarkdownIt("commonmark", {"html": False}).enable("table").use(dollarmath_plugin, double_inline=True)


@lru_cache(maxsize=256)
def render_statement(markdown: str) -> Markup:
    return Markup(_markdown().render(markdown))
