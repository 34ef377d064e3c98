"""Every content mistake is reported with file, line and what is wrong; all at once."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bot.content.loader import check_content, load_knowledge
from bot.content.problems import ContentError, Problem, Severity
from bot.paths import default_content_dir
from tests.conftest import TINY_CONTENT, copy_shipped_content, write_content


def errors_of(root: Path) -> list[Problem]:
    knowledge, problems = check_content(root)
    errors = [p for p in problems if p.severity is Severity.ERROR]
    assert knowledge is None or not errors
    return errors


def break_content(tmp_path: Path, **replacements: tuple[str, str]) -> Path:
    """The tiny content with text replaced: file=(old, new)."""
    files = dict(TINY_CONTENT)
    for name, (old, new) in replacements.items():
        key = name.replace("__", "/").replace("_yaml", ".yaml")
        assert old in files[key], f"{old!r} not in {key}"
        files[key] = files[key].replace(old, new)
    return write_content(tmp_path / "broken", files)


def test_tiny_content_is_valid(tiny_content: Path) -> None:
    knowledge = load_knowledge(tiny_content)
    assert set(knowledge.intents) == {"does_it_hurt", "pricing", "greeting"}
    assert "£90" in knowledge.responses["pricing"].answer
    assert knowledge.settings["clinic"]["hours"] == "Mon-Tue 09:00-17:00; closed Wed-Sun"


def test_shipped_content_is_valid() -> None:
    _, problems = check_content(default_content_dir())
    assert [str(p) for p in problems] == []


def test_invalid_yaml_names_file_and_line(tmp_path: Path) -> None:
    root = break_content(tmp_path, intents__topics_yaml=("  - id: pricing", "  - id: [pricing"))
    (error,) = [e for e in errors_of(root) if "invalid YAML" in e.message]
    assert error.file is not None and error.file.name == "topics.yaml"
    assert error.line == 8


def test_duplicate_yaml_key_is_an_error(tmp_path: Path) -> None:
    root = break_content(
        tmp_path,
        responses__topics_yaml=("title: Prices\n", "title: Prices\n            title: Cost\n"),
    )
    assert any("duplicate key 'title'" in e.message for e in errors_of(root))


def test_duplicate_intent_ids(tmp_path: Path) -> None:
    root = break_content(tmp_path, intents__topics_yaml=("  - id: pricing", "  - id: does_it_hurt"))
    errors = errors_of(root)
    assert any("duplicate intent id" in e.message and e.line == 7 for e in errors)


def test_intent_without_response_and_response_without_intent(tmp_path: Path) -> None:
    root = break_content(tmp_path, responses__topics_yaml=("  pricing:", "  prices:"))
    messages = {(e.intent_id, e.message) for e in errors_of(root)}
    assert ("pricing", "intent has no response in responses/") in messages
    assert ("prices", "response has no intent in intents/") in messages


def test_unknown_follow_up(tmp_path: Path) -> None:
    root = break_content(
        tmp_path, responses__topics_yaml=("follow_ups: [pricing]", "follow_ups: [pricng]")
    )
    (error,) = errors_of(root)
    assert error.intent_id == "does_it_hurt"
    assert "follow-up 'pricng' is not an intent" in error.message
    assert error.line == 5


def test_same_example_under_two_intents(tmp_path: Path) -> None:
    root = break_content(
        tmp_path, intents__topics_yaml=("      - price\n", "      - Is it painful?\n")
    )
    (error,) = errors_of(root)
    assert "also an example of 'does_it_hurt'" in error.message
    assert error.intent_id == "pricing"


def test_empty_examples(tmp_path: Path) -> None:
    text = TINY_CONTENT["intents/topics.yaml"].replace(
        "examples:\n              - hello", "examples: []"
    )
    root = write_content(tmp_path / "empty", {**TINY_CONTENT, "intents/topics.yaml": text})
    (error,) = errors_of(root)
    assert error.intent_id == "greeting"
    assert "non-empty list of examples" in error.message


def test_unknown_placeholder(tmp_path: Path) -> None:
    root = break_content(
        tmp_path, responses__topics_yaml=("{prices.first_session}", "{prices.first_visit}")
    )
    (error,) = errors_of(root)
    assert "placeholder {prices.first_visit} names no setting" in error.message


def test_a_message_that_lost_its_placeholder_or_has_a_stray_one(tmp_path: Path) -> None:
    """Deleting {count} from forget_done would leave the user not knowing what was deleted;
    {cuont} would show patients the braces."""
    root = break_content(
        tmp_path,
        responses__messages_yaml=(
            "forget_done: Text of forget_done {count}.",
            "forget_done: Done, {cuont} records deleted.",
        ),
    )
    messages_file = root / "responses" / "messages.yaml"
    line = (
        messages_file.read_text()
        .splitlines()
        .index("  forget_done: Done, {cuont} records deleted.")
    )
    errors = errors_of(root)
    assert sorted(e.message for e in errors) == [
        "message 'forget_done': placeholder {count} is missing: the bot fills it in here",
        "message 'forget_done': placeholder {cuont} is never filled in (the message takes {count})",
    ]
    assert all(e.file == messages_file and e.line == line + 1 for e in errors)


def test_the_code_fills_exactly_the_declared_placeholders(tiny_content: Path) -> None:
    knowledge = load_knowledge(tiny_content)
    assert knowledge.say("forget_done", count=3) == "Text of forget_done 3."
    assert knowledge.say("staff_reply", reply="<b>hi</b> & bye") == (
        "Text of staff_reply &lt;b&gt;hi&lt;/b&gt; &amp; bye."
    )
    with pytest.raises(TypeError, match="takes"):
        knowledge.say("forget_done")
    with pytest.raises(TypeError, match="takes"):
        knowledge.say("welcome", name="Ana")


def test_invalid_telegram_html(tmp_path: Path) -> None:
    root = break_content(
        tmp_path,
        responses__topics_yaml=("<b>Most people feel very little.</b>", "<p>Fish & chips<b>"),
    )
    messages = [e.message for e in errors_of(root)]
    assert any("tag <p> is not supported" in m for m in messages)
    assert any("bare '&'" in m for m in messages)
    assert any("<b> is never closed" in m for m in messages)


def test_answer_too_long_once_rendered(tmp_path: Path) -> None:
    long_answer = "A" * 4000 + " {clinic.booking_url}" * 10
    root = break_content(tmp_path, responses__topics_yaml=("Hello! Ask me anything.", long_answer))
    (error,) = errors_of(root)
    assert "characters once rendered; Telegram allows 4096" in error.message


def test_title_too_long_for_a_button(tmp_path: Path) -> None:
    root = break_content(
        tmp_path, responses__topics_yaml=("title: Prices", "title: " + "Prices " * 6)
    )
    (error,) = errors_of(root)
    assert "a button fits 30" in error.message


def test_missing_message_and_unknown_popular_topic(tmp_path: Path) -> None:
    root = break_content(
        tmp_path,
        responses__messages_yaml=(
            "privacy: Text of privacy {retention_days}.",
            "private: Text of privacy {retention_days}.",
        ),
    )
    messages_file = root / "responses" / "messages.yaml"
    messages_file.write_text(messages_file.read_text().replace("pricing]", "prices]"))
    messages = [e.message for e in errors_of(root)]
    assert "message 'privacy' is missing from 'messages:'" in messages
    assert "popular topic 'prices' is not an intent" in messages


def test_bad_safety_pattern_and_thresholds(tmp_path: Path) -> None:
    root = break_content(
        tmp_path,
        intents__topics_yaml=("pregnan", "(unclosed"),
        clinic_yaml=("clarify_threshold: 50", "clarify_threshold: 80"),
    )
    messages = [e.message for e in errors_of(root)]
    assert any("not a valid regular expression" in m for m in messages)
    assert "matching.clarify_threshold must not exceed answer_threshold" in messages


def test_every_problem_is_reported_at_once(tmp_path: Path) -> None:
    content = copy_shipped_content(tmp_path / "copy")
    responses = content / "responses" / "your_visit.yaml"
    text = responses.read_text()
    text = re.sub(r"follow_ups: \[", "follow_ups: [no_such_topic, ", text, count=1)
    text = text.replace("{clinic.phone}", "{clinic.fax}", 1)
    responses.write_text(text)
    with pytest.raises(ContentError) as caught:
        load_knowledge(content)
    reported = str(caught.value)
    assert "no_such_topic" in reported
    assert "{clinic.fax}" in reported
    assert f"{responses}:" in reported


def test_content_changing_while_read_is_read_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Files written during a read (an upload in progress) never mix into one snapshot."""
    import bot.content.loader as loader

    content = copy_shipped_content(tmp_path / "content")
    calls = 0
    real = loader._check_once

    def edited_during_first_read(folder: Path) -> object:
        nonlocal calls
        calls += 1
        result = real(folder)
        if calls == 1:  # someone saves a file while we read
            answers = folder / "responses" / "your_visit.yaml"
            answers.write_text(answers.read_text() + "\n")
        return result

    monkeypatch.setattr(loader, "_check_once", edited_during_first_read)
    knowledge, problems = loader.check_content(content)
    assert knowledge is not None and calls == 2  # read again, consistent the second time

    def always_edited(folder: Path) -> object:
        result = real(folder)
        answers = folder / "responses" / "your_visit.yaml"
        answers.write_text(answers.read_text() + "\n")
        return result

    monkeypatch.setattr(loader, "_check_once", always_edited)
    knowledge, problems = loader.check_content(content)
    assert knowledge is None
    assert "kept changing while it was read" in problems[0].message


def test_a_file_that_does_not_parse_hides_only_what_it_defines(tmp_path: Path) -> None:
    """One broken file must not hide the other files' mistakes: a follow-up to an intent
    that exists nowhere is still reported, while references to what the broken file
    defines are not reported as missing."""
    root = break_content(
        tmp_path, responses__topics_yaml=("follow_ups: [does_it_hurt]", "follow_ups: [aftercare]")
    )
    (root / "intents" / "more.yaml").write_text(
        "intents:\n  - id: booking\n    examples: [how do I book\n      - can I book online\n"
    )
    (root / "responses" / "more.yaml").write_text(
        "responses:\n  booking:\n    title: Booking\n    answer: Book online.\n"
        "    follow_ups: [pricing]\n"
    )
    messages = [e.message for e in errors_of(root)]
    assert len(messages) == 2  # the YAML error in more.yaml, and:
    assert "follow-up 'aftercare' is not an intent" in messages
    assert not any("booking" in m for m in messages)  # defined in the broken file
