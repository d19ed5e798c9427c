"""Parse untrusted XML safely: no DTD, no entities, no network, no entity expansion.

A document that declares a DOCTYPE or ENTITY is refused *before* it reaches a parser.
"""

from __future__ import annotations

import re
from typing import Any

from lxml import etree

_DANGEROUS = re.compile(rb"<!\s*(DOCTYPE|ENTITY|ELEMENT|ATTLIST)", re.IGNORECASE)
_PARSER = etree.XMLParser(
    resolve_entities=False,
    no_network=True,
    load_dtd=False,
    dtd_validation=False,
    huge_tree=False,
    remove_comments=False,
)


class UnsafeXml(ValueError):
    def __init__(self, message: str, line: int | None) -> None:
        super().__init__(message)
        self.message = message
        self.line = line


def _line_of(content: bytes, offset: int) -> int:
    return content.count(b"\n", 0, offset) + 1


def parse_xml(content: bytes) -> Any:
    """Return the lxml root element, or raise :class:`UnsafeXml` with a line number."""
    if b"\x00" in content or content.startswith((b"\xff\xfe", b"\xfe\xff")):
        # UTF-16/32 would hide a DOCTYPE from the byte check below; modelers write UTF-8.
        raise UnsafeXml("XML must be UTF-8 encoded; refused", 1)
    match = _DANGEROUS.search(content)
    if match:
        kind = match.group(1).decode().upper()
        raise UnsafeXml(
            f"XML with a {kind} declaration is refused (DTDs and entities are not allowed)",
            _line_of(content, match.start()),
        )
    try:
        root = etree.fromstring(content, _PARSER)
    except etree.XMLSyntaxError as exc:
        line = exc.lineno if isinstance(exc.lineno, int) else None
        raise UnsafeXml(f"malformed XML: {exc.msg}", line) from None
    if root is None:
        raise UnsafeXml("empty XML document", 1)
    return root
