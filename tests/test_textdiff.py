"""textdiff: the edit test (normalize, then compare) and the diff for Chinese."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from newsmirror.textdiff import (
    DiffOp,
    content_signature,
    diff_text,
    is_meaningful_change,
    new_text,
    normalize_text,
    old_text,
    tokenize,
)

BODY = "<p>市政府今天宣布新政策，預計三百人受惠。</p><p>The mayor said: it works.</p>"


def test_tokens_cjk_per_character_latin_per_word() -> None:
    assert tokenize("市府宣布 new policy 2024年，OK!") == [
        "市", "府", "宣", "布", " ", "new", " ", "policy", " ", "2024", "年", "，", "OK", "!",
    ]  # fmt: skip
    assert tokenize("한국어 かな") == ["한", "국", "어", " ", "か", "な"]


def test_chinese_diff_marks_only_the_changed_characters() -> None:
    ops = diff_text("市政府今天宣布新政策。", "市政府昨天宣布了新政策。")
    assert ops == [
        DiffOp("equal", "市政府"), DiffOp("delete", "今"), DiffOp("insert", "昨"),
        DiffOp("equal", "天宣布"), DiffOp("insert", "了"), DiffOp("equal", "新政策。"),
    ]  # fmt: skip


def test_latin_diff_is_per_word() -> None:
    ops = diff_text("The quick brown fox", "The slow brown fox")
    assert [(o.kind, o.text) for o in ops if o.kind != "equal"] == [
        ("delete", "quick"), ("insert", "slow"),
    ]  # fmt: skip


def test_identical_and_empty() -> None:
    assert diff_text("同樣", "同樣") == [DiffOp("equal", "同樣")]
    assert diff_text("", "") == []
    assert diff_text("", "新") == [DiffOp("insert", "新")]
    assert diff_text("舊", "") == [DiffOp("delete", "舊")]


@given(st.text(max_size=60), st.text(max_size=60))
def test_diff_gives_both_texts_back(a: str, b: str) -> None:
    ops = diff_text(a, b)
    assert old_text(ops) == a and new_text(ops) == b
    assert all(x.kind != y.kind for x, y in zip(ops, ops[1:], strict=False))
    assert all(op.text for op in ops)


@pytest.mark.parametrize(
    "other",
    [
        "<p>  市政府今天宣布新政策，預計三百人受惠。 </p>\n<p>The   mayor said:\nit works.</p>",
        "<div><p>市政府 今天 宣布新政策，預計三百人受惠。</p><p>The mayor said: it works.</p></div>",
        "<p>市政府今天宣布新政策，預計三百人受惠。</p><p>The mayor said: it works.</p>",
    ],
)
def test_whitespace_is_no_edit(other: str) -> None:
    assert not is_meaningful_change("標題", BODY, "標題", other)


def test_tracking_parameters_and_image_queries_are_no_edit() -> None:
    a = ('<p>文<a href="https://ex.org/n?id=1&utm_source=rss#top">連結</a>'
         '<img src="https://cdn.ex.org/p.jpg?w=600&q=80"></p>')  # fmt: skip
    b = ('<p>文<a href="https://ex.org/n?id=1&fbclid=zz">連結</a>'
         '<img src="https://cdn.ex.org/p.jpg?w=1200"></p>')  # fmt: skip
    assert not is_meaningful_change("t", a, "t", b)
    # A mirrored copy is compared by its original URL.
    local = ('<p>文<a href="https://ex.org/n?id=1">連結</a><img src="/assets/ab/x.jpg" '
             'data-orig-src="https://cdn.ex.org/p.jpg?w=600"></p>')  # fmt: skip
    assert not is_meaningful_change("t", a, "t", local)


@pytest.mark.parametrize(
    ("title", "body"),
    [
        ("標題改了", BODY),
        ("標題", BODY.replace("三百", "五百")),
        ("標題", BODY + "<p>補充一句。</p>"),
        ("標題", BODY + '<p><img src="https://cdn.ex.org/other.jpg"></p>'),
        ("標題", BODY.replace("works", "fails")),
    ],
)
def test_real_edits_count(title: str, body: str) -> None:
    assert is_meaningful_change("標題", BODY, title, body)


def test_link_target_change_counts_but_not_its_query_tracking() -> None:
    a = '<p><a href="https://ex.org/a?id=1">x</a></p>'
    assert is_meaningful_change("t", a, "t", '<p><a href="https://ex.org/a?id=2">x</a></p>')
    assert content_signature(a) == content_signature(
        '<p><a href="https://ex.org/a?id=1&utm_medium=x">x</a></p>'
    )


def test_normalize_text() -> None:
    assert normalize_text(" 中 文\u3000字\n ab  cd ") == "中文字 ab cd"
    assert normalize_text("ＡＢＣ１２３") == "ABC123"  # NFKC: full-width forms
