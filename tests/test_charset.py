"""charset.decode: BOM > header > declaration > UTF-8 > detection, and lies are caught."""

from __future__ import annotations

import codecs
import os
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from newsmirror.charset import declared_charset, decode, normalize_charset

SIMPLIFIED = "新华社北京七月二十一日电，国务院总理在人民大会堂会见了来访的外国代表团，双方就经济合作、文化交流和区域安全等问题深入交换意见。"
TRADITIONAL = "中央社記者臺北二十一日電，行政院長今天在立法院答詢時表示，政府將持續推動經濟轉型與區域合作，並強化國防與社會安全網。"


def corpus_dir() -> Path:
    env = os.environ.get("NEWSMIRROR_CORPUS")
    return Path(env) if env else Path(__file__).resolve().parents[2] / "shared" / "corpus"


def xml(text: str, decl: str = "") -> str:
    head = f'<?xml version="1.0" encoding="{decl}"?>' if decl else ""
    return f"{head}<rss><title>{text}</title></rss>"


@pytest.mark.parametrize(
    ("bom", "codec"),
    [
        (codecs.BOM_UTF8, "utf-8"),
        (codecs.BOM_UTF16_LE, "utf-16-le"),
        (codecs.BOM_UTF16_BE, "utf-16-be"),
        (codecs.BOM_UTF32_LE, "utf-32-le"),
        (codecs.BOM_UTF32_BE, "utf-32-be"),
    ],
)
def test_bom_wins_over_everything(bom: bytes, codec: str) -> None:
    doc = xml(SIMPLIFIED, "gbk")
    text, used = decode(bom + doc.encode(codec), header_charset="big5")
    assert (text, used) == (doc, codec)


def test_header_charset_is_used() -> None:
    body = xml(SIMPLIFIED).encode("gbk")
    assert decode(body, header_charset="GBK") == (xml(SIMPLIFIED), "gb18030")


def test_header_beats_declaration() -> None:
    doc = xml(TRADITIONAL, "gbk")  # the declaration is wrong; the header is right
    assert decode(doc.encode("big5"), header_charset="big5") == (doc, "big5hkscs")


def test_wrong_header_falls_back_to_declaration() -> None:
    doc = xml(SIMPLIFIED, "gb2312")
    assert decode(doc.encode("gbk"), header_charset="utf-8") == (doc, "gb18030")


def test_xml_declaration_is_used() -> None:
    doc = xml(TRADITIONAL, "big5")
    assert decode(doc.encode("big5")) == (doc, "big5hkscs")


def test_declaration_lies_utf8_wins() -> None:
    doc = xml(SIMPLIFIED, "gb2312")
    assert decode(doc.encode("utf-8")) == (doc, "utf-8")
    assert decode(doc.encode("utf-8"), header_charset="iso-8859-1") == (doc, "utf-8")


def test_gb2312_label_decodes_gbk_and_gb18030_characters() -> None:
    doc = xml("朱镕基与𠀀字", "gb2312")  # 镕 is GBK-only, 𠀀 is GB18030-only
    assert decode(doc.encode("gb18030")) == (doc, "gb18030")


def test_big5_label_decodes_hkscs_characters() -> None:
    doc = xml("佢哋講嘅嘢", "big5")  # Cantonese characters from HKSCS
    assert decode(doc.encode("big5hkscs")) == (doc, "big5hkscs")


@pytest.mark.parametrize(("text", "codec"), [(SIMPLIFIED, "gbk"), (TRADITIONAL, "big5")])
def test_detection_without_any_declaration(text: str, codec: str) -> None:
    got, used = decode(xml(text).encode(codec))
    assert got == xml(text)
    assert used in {"gb18030", "big5hkscs"}


def test_undeclared_utf8_and_ascii() -> None:
    assert decode(xml(SIMPLIFIED).encode("utf-8")) == (xml(SIMPLIFIED), "utf-8")
    assert decode(b"<rss/>") == ("<rss/>", "utf-8")
    assert decode(b"") == ("", "utf-8")


def test_utf16_without_bom_is_sniffed() -> None:
    doc = xml(SIMPLIFIED)
    assert decode(doc.encode("utf-16-le")) == (doc, "utf-16-le")
    assert decode(doc.encode("utf-16-be")) == (doc, "utf-16-be")


def test_utf16_label_on_ascii_readable_bytes_is_a_lie() -> None:
    doc = xml(SIMPLIFIED, "utf-16")
    assert decode(doc.encode("utf-8")) == (doc, "utf-8")


def test_unknown_labels_are_ignored() -> None:
    doc = xml(SIMPLIFIED, "x-no-such-charset")
    assert decode(doc.encode("utf-8"), header_charset="bogus") == (doc, "utf-8")


def test_html_meta_charset() -> None:
    page = f'<html><head><meta charset="big5"><title>{TRADITIONAL}</title></head></html>'
    assert decode(page.encode("big5"), kind="html") == (page, "big5hkscs")
    page = (
        '<html><head><meta http-equiv="Content-Type" content="text/html; charset=gbk">'
        f"</head><body>{SIMPLIFIED}</body></html>"
    )
    assert decode(page.encode("gbk"), kind="html") == (page, "gb18030")


def test_json_kind_reads_no_xml_declaration() -> None:
    assert declared_charset(b'<?xml version="1.0" encoding="gbk"?>', "json") == ""
    assert declared_charset(b'<?xml version="1.0" encoding="gbk"?><a/>', "xml") == "gbk"


def test_normalize_charset() -> None:
    assert normalize_charset("GB2312") == "gb18030"
    assert normalize_charset(" gbk ") == "gb18030"
    assert normalize_charset("GB_2312-80") == "gb18030"
    assert normalize_charset("Big5") == "big5hkscs"
    assert normalize_charset("UTF8") == "utf-8"
    assert normalize_charset("ISO-8859-1") == "cp1252"
    assert normalize_charset("shift_jis") == "shift_jis"
    assert normalize_charset("nonsense") == ""
    assert normalize_charset("") == ""


def test_invalid_bytes_never_raise() -> None:
    text, used = decode(b"\xff\xfe\xfd\x80\x81<rss>\xc3", header_charset="utf-8")
    assert isinstance(text, str) and used


@settings(max_examples=300, deadline=None)
@given(
    st.binary(max_size=300),
    st.sampled_from(["", "utf-8", "gbk", "big5", "latin1", "utf-16", "bogus"]),
    st.sampled_from(["xml", "html", "json", "text"]),
)
def test_never_raises_on_any_bytes(body: bytes, header: str, kind: str) -> None:
    text, used = decode(body, header_charset=header, kind=kind)  # type: ignore[arg-type]
    assert isinstance(text, str)
    codecs.lookup(used)


def test_corpus_page_declaring_gb2312_is_really_utf8() -> None:
    page = corpus_dir() / "pages" / "gne" / "tests" / "163" / "9.html"
    if not page.is_file():
        pytest.skip("corpus not available")
    body = page.read_bytes()
    assert b"charset=gb2312" in body[:2000]
    text, used = decode(body, kind="html")
    assert used == "utf-8"
    assert "京沪高速" in text
    assert "\ufffd" not in text


def test_corpus_feeds_decode_as_utf8() -> None:
    feeds = sorted((corpus_dir() / "feeds").glob("*/*"))
    if not feeds:
        pytest.skip("corpus not available")
    for path in feeds:
        text, used = decode(path.read_bytes())
        assert used == "utf-8", path
        assert "\ufffd" not in text, path
