from __future__ import annotations

from bot.advisor import Answer, Intent, Source
from bot.telegram.rendering import TELEGRAM_LIMIT, render_answer, render_text, split_messages, utf16_len


def _answer(text: str) -> Answer:
    return Answer(
        question="q",
        intent=Intent.RECOMMEND,
        in_scope=True,
        text=text,
        sources=[Source(id="a", title="A <b>&", path="knowledge/x.yaml")],
    )


def test_every_value_is_escaped() -> None:
    [message] = render_answer(_answer('Use <script> & "quotes"\nsecond line'))
    assert "<script>" not in message
    assert "&lt;script&gt; &amp;" in message
    assert "A &lt;b&gt;&amp;" in message
    assert message.startswith("<b>")


def test_long_answers_are_split_under_the_limit() -> None:
    text = "\n".join(f"line {i} " + "é😀<" * 200 for i in range(60))
    messages = render_answer(_answer(text))
    assert len(messages) > 1
    assert all(utf16_len(m) <= TELEGRAM_LIMIT for m in messages)
    assert all(m.count("<b>") == m.count("</b>") for m in messages)


def test_a_single_huge_line_is_cut() -> None:
    messages = render_text("x" * 20000)
    assert len(messages) >= 5
    assert all(utf16_len(m) <= TELEGRAM_LIMIT for m in messages)
    assert sum(len(m.replace("\n", "")) for m in messages) == 20000


def test_split_keeps_lines_whole() -> None:
    assert split_messages(["a" * 10, "b" * 10, "c" * 10], limit=21) == ["a" * 10 + "\n" + "b" * 10, "c" * 10]
