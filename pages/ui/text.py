"""Text from outside — ids, references, descriptions, file and ledger names, and the messages
that quote them — shown as it was typed."""

from __future__ import annotations

import re

# Streamlit reads text as markdown: a ledger description "![](http://…)" would load an image in
# the reviewer's browser, "$a$ … $b$" would set LaTeX, "*" and "[…](…)" format and link, and
# ":red[…]" or ":smile:" colour and decorate.
_INLINE = re.compile(
    r"[\\`*~$\[\]]"  # escapes, code, emphasis, strike-through, LaTeX, links and images
    r"|(?<![0-9A-Za-z])_|_(?![0-9A-Za-z])"  # emphasis by _ (the _ inside ord_1 is text)
    r"|:(?=[\w+\-/]+[:\[])"  # :smile: emoji, :red[…] colour (a bare URL still links)
)
# What makes a line a heading, quote, list item or rule.
_BLOCK = re.compile(r"(?m)^(\s*)(?:(\d+)([.)])(?=\s|$)|([#>]|[+\-](?=\s|$)|[-=]+\s*$))")


def _escape_block(m: re.Match[str]) -> str:
    if m.group(2):  # "1. first": escape the dot, not the number
        return f"{m.group(1)}{m.group(2)}\\{m.group(3)}"
    return f"{m.group(1)}\\{m.group(4)}"


# Streamlit sets " -- " as an em dash, escaped or not; only a code span keeps the hyphens, so
# an order id "xo_'; DROP TABLE orders; --" reads (and copies) as typed.
_DASHES = re.compile(r"(?:(?<=\s)|^)(-{2,})(?=\s|$)")


def plain(text: str) -> str:
    """Outside text for a markdown element (st.write, caption, error, …): shown as typed."""
    escaped = _BLOCK.sub(_escape_block, _INLINE.sub(lambda m: "\\" + m.group(0), text))
    return _DASHES.sub(r"`\1`", escaped)
