"""An HTML mail body as plain text: block elements become line breaks, scripts and styles
vanish, and the quoted history mail clients wrap in HTML (blockquote, Gmail's
``gmail_quote``, Outlook's ``divRplyFwdMsg``, Thunderbird's ``moz-cite-prefix``) is left out.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

_BLOCKS = frozenset({"p", "div", "br", "tr", "li", "ul", "ol", "table", "h1", "h2", "h3",
                     "h4", "h5", "h6", "hr", "section", "article", "header", "footer"})
_HIDDEN = frozenset({"script", "style", "head", "title", "template"})
# Where a client starts the history of a top-posted reply: everything from there on is old.
_HISTORY_MARKERS = ("gmail_quote", "divrplyfwdmsg", "moz-cite-prefix", "yahoo_quoted",
                    "appendonsend", "protonmail_quote", "mail-editor-reference-message")
_VOID = frozenset({"br", "hr", "img", "meta", "link", "input", "area", "base", "col",
                   "embed", "source", "track", "wbr"})


class _TextCollector(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        # Open elements whose content is skipped; their depth in the element stack.
        self._stack: list[str] = []
        self._skip_from: int | None = None
        self._history = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if _starts_history(attrs):
            self._history = True
        if tag in _BLOCKS:
            self.parts.append("\n")
        if tag in _VOID:
            return
        self._stack.append(tag)
        if self._skip_from is None and _skipped(tag, attrs):
            self._skip_from = len(self._stack)

    def handle_endtag(self, tag: str) -> None:
        if tag in _VOID or tag not in self._stack:
            return
        while self._stack:
            if self._skip_from is not None and len(self._stack) <= self._skip_from:
                self._skip_from = None
            if self._stack.pop() == tag:
                break
        if tag in _BLOCKS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if self._skip_from is None and not self._history:
            self.parts.append(data)


def _skipped(tag: str, attrs: list[tuple[str, str | None]]) -> bool:
    # A blockquote may sit between new paragraphs (an inline reply): only it is left out.
    return tag in _HIDDEN or tag == "blockquote"


def _starts_history(attrs: list[tuple[str, str | None]]) -> bool:
    marks = " ".join(value or "" for name, value in attrs if name in ("class", "id")).lower()
    return any(marker in marks for marker in _HISTORY_MARKERS)


def html_to_text(html: str) -> str:
    collector = _TextCollector()
    collector.feed(html)
    collector.close()
    text = "".join(collector.parts).replace("\xa0", " ")
    lines = [re.sub(r"[ \t]+", " ", line).strip() for line in text.split("\n")]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()
