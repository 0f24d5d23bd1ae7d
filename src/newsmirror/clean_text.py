"""Article fragments: parsing them as the clean stage does, and their plain text.

:func:`parse_html` (:func:`parse_fragment` outside the clean stage) puts a fragment's
content under a bare ``<body>`` (the characters lxml refuses, and html/body/head tags,
removed first); :func:`html_to_text` and :func:`fragment_text` read the plain text of
one: blocks and ``<br>`` on lines of their own, whitespace collapsed outside ``<pre>``.
For :mod:`newsmirror.clean`, :func:`collapse_marked` tidies the whitespace of a cleaned
tree and reads its text in the same walk, and :func:`cleaned_text` reads the text of the
cleaned HTML from the tree it was written from instead of parsing it again.
"""

from __future__ import annotations

import re

from lxml import etree
from lxml.html import (
    HtmlComment,
    HtmlElement,
    HtmlEntity,
    HTMLParser,
    HtmlProcessingInstruction,
    document_fromstring,
)

from .sanitize import tag_set
from .sanitize_tidy import collapsed, tidy_whitespace

__all__ = [
    "BLOCK_TAGS",
    "SKIP_TEXT_TAGS",
    "cleaned_text",
    "collapse_marked",
    "fragment_text",
    "has_text",
    "html_parser",
    "html_to_text",
    "parse_fragment",
    "parse_html",
]


# ---------------------------------------------------------------- parsing


def html_parser(**options: bool) -> HTMLParser:
    """``HTMLParser(**options)`` whose element classes are chosen in C: lxml.html's own
    lookup is a Python call for every element object made, only to give form controls
    classes of their own, which cleaning and extraction never use."""
    parser = HTMLParser(**options)
    parser.set_element_class_lookup(
        etree.ElementDefaultClassLookup(
            element=HtmlElement, comment=HtmlComment, pi=HtmlProcessingInstruction,
            entity=HtmlEntity,
        )
    )  # fmt: skip
    return parser


_PARSER = html_parser(huge_tree=True, remove_comments=False)
# C0/C1 controls (not tab/newline/CR), lone surrogates and non-characters: lxml refuses them.
_BAD_CHARS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")

# html/body/head tags inside a fragment: HTML5 ignores them; libxml2 may put text outside <body>.
_DOC_TAGS = re.compile(r"</?(?:html|body|head)\b[^>]*>", re.I)


def parse_html(html: str) -> HtmlElement | None:
    """The fragment's content under a bare ``<body>`` element, or None when blank."""
    html = _BAD_CHARS.sub("", html)
    if not html.strip():
        return None
    html = _DOC_TAGS.sub("", html)
    doc = document_fromstring(f"<html><body>{html}", parser=_PARSER)
    body = next(doc.iterchildren("body"), None)  # (= doc.find("body"), without ElementPath)
    if body is None:
        body = doc.makeelement("body", {})
        doc.append(body)
    # libxml2 puts content after a stray </body> or <html/> beside the body: take it back.
    tail, body.tail = body.tail, None
    if tail:
        if len(body):
            body[-1].tail = (body[-1].tail or "") + tail
        else:
            body.text = (body.text or "") + tail
    for sibling in [*body.itersiblings(), *doc.itersiblings()]:
        body.append(sibling)
    return body


# ---------------------------------------------------------------- plain text

BLOCK_TAGS = tag_set(
    "address article aside blockquote body caption center dd details dialog div dl dt "
    "fieldset figcaption figure footer form h1 h2 h3 h4 h5 h6 header hgroup hr li main "
    "nav ol p pre section summary table tbody tfoot thead tr ul"
)
SKIP_TEXT_TAGS = tag_set("script style template head title noembed noframes")
_START_MARKS = {**dict.fromkeys((*BLOCK_TAGS, "br"), "\n"), "td": " ", "th": " "}


def cleaned_text(content: str, root: HtmlElement | None, marked: str | None) -> tuple[str, str]:
    """``(content, html_to_text(content))`` for the ``content`` that
    :func:`newsmirror.clean._clean` wrote from ``root``, the text read from ``root``
    (``marked``: its marked text, when known) instead of a parse of ``content``.

    The same text: the tidied tree is what nh3 gets, and nh3 keeps its elements and text
    as they are (:func:`~newsmirror.sanitize_tidy.tidy_tree` leaves it nothing to restructure;
    its attributes do not count here). What :func:`parse_html` would change in ``content``
    goes the old way: text with characters it removes (numeric character references can
    make them in the tree), or html/body/head tags in attribute values."""
    if root is None or not content or _DOC_TAGS.search(content):
        return content, html_to_text(content)
    if marked is None:
        marked = _marked_text(root)
    if _BAD_CHARS.search(marked):
        return content, html_to_text(content)
    return content, _lines(marked)


def collapse_marked(root: HtmlElement) -> str | None:
    """:func:`~newsmirror.sanitize_tidy.tidy_whitespace` of a tree without <pre>, and the
    :func:`_marked_text` of the result, in one walk (None when a tag's text would be
    skipped: then the tree is only tidied)."""
    parts: list[str] = []
    append = parts.append
    for event, el in etree.iterwalk(root, events=("start", "end")):
        tag = el.tag
        if event == "start":
            if tag in SKIP_TEXT_TAGS:  # (tidy_tree drops them all: never)
                tidy_whitespace(root)
                return None
            if tag in _START_MARKS:
                append(_START_MARKS[tag])
            if (text := el.text) and (done := collapsed(text)) is not text:
                el.text = text = done
        else:
            if tag in BLOCK_TAGS:
                append("\n")
            if el is root:
                break
            if (text := el.tail) and (done := collapsed(text)) is not text:
                el.tail = text = done
        if text:  # (collapsed: no \r or \n left, which _marked_text makes spaces)
            append(text)
    return "".join(parts)


def parse_fragment(html: str) -> HtmlElement | None:
    """The fragment as :func:`~newsmirror.clean.clean_html` and :func:`html_to_text` parse it
    (None: blank)."""
    return parse_html(html)


def html_to_text(html: str) -> str:
    """Plain text: blocks and <br> on their own lines, whitespace collapsed, entities decoded."""
    return fragment_text(parse_html(html))


def fragment_text(root: HtmlElement | None) -> str:
    """:func:`html_to_text` of a fragment parsed by :func:`parse_fragment` (left as it is)."""
    return _lines(_marked_text(root)) if root is not None else ""


def has_text(root: HtmlElement) -> bool:
    """Whether :func:`fragment_text` of ``root`` is not blank (known at its first word)."""
    walker = etree.iterwalk(root, events=("start", "end"))
    for event, el in walker:
        tag = el.tag  # (as in _marked_text)
        if event == "start":
            if tag in SKIP_TEXT_TAGS:
                walker.skip_subtree()
                continue
            text = el.text if isinstance(tag, str) else None
        else:
            text = el.tail if el is not root else None
        if text and not text.isspace():
            return True
    return False


def _marked_text(root: HtmlElement) -> str:
    """The text under ``root``, with a newline at the start and end of each block and at
    each <br> (a space before a cell), newlines of the source as spaces outside <pre>."""
    parts: list[str] = []
    append = parts.append
    in_pre = 0  # newlines of the source are line breaks only inside <pre>
    walker = etree.iterwalk(root, events=("start", "end"))
    for event, el in walker:
        tag = el.tag  # (iterwalk reports no comments or processing instructions)
        if event == "start":
            if tag in SKIP_TEXT_TAGS:
                walker.skip_subtree()
                continue
            if tag in _START_MARKS:
                append(_START_MARKS[tag])
            if tag == "pre":
                in_pre += 1
            text = el.text if isinstance(tag, str) else None
        else:
            if tag in BLOCK_TAGS:
                append("\n")
            if tag == "pre":
                in_pre -= 1
            text = el.tail if el is not root else None
        if text:
            if "\r" in text or "\n" in text:
                if in_pre:
                    text = text.replace("\r\n", "\n").replace("\r", "\n")
                else:
                    text = text.replace("\r", " ").replace("\n", " ")
            append(text)
    return "".join(parts)


def _lines(marked: str) -> str:
    """The non-blank lines of ``marked``, each with its whitespace runs made one space and
    its ends trimmed (``" ".join(line.split())``: the same whitespace as the regex
    ``[^\\S\\n]+`` then ``strip()``, without a regex pass over the whole text)."""
    lines = (" ".join(line.split()) for line in marked.split("\n"))
    return "\n".join(line for line in lines if line)
