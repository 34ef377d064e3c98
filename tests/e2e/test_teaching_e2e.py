"""End to end, the clinic teaches its bot: an unanswered question, /gaps, one tap on
"Add to <topic>", and the same question is answered; Undo brings the fallback back; the
export writes the lesson into the content files, which still validate with their comments."""

from __future__ import annotations

from pathlib import Path

from bot.content.knowledge import Knowledge
from tests.conftest import copy_shipped_content
from tests.test_cli import run_bot

from .botapi_emulator import BotApiEmulator
from .running_bot import bot_process, buttons, shown

QUESTION = "is the clinic dog friendly"
FALLBACK = "Sorry, I don't know"


def test_an_admin_teaches_the_bot_from_its_gaps(tmp_path: Path, knowledge: Knowledge) -> None:
    content = copy_shipped_content(tmp_path / "content")
    database = tmp_path / "bot.sqlite3"
    answer = shown(knowledge.responses["location_hours"].answer)
    with BotApiEmulator() as emu:
        admin, patient = emu.add_user("Ada"), emu.add_user("Pia")
        admin_chat, chat = emu.private_chat(admin), emu.private_chat(patient)

        def admin_says(text: str) -> dict[str, object]:
            emu.send_text(admin, admin_chat, text)
            return emu.wait_for_message(admin_chat, timeout=20)

        def patient_asks() -> str:
            emu.send_text(patient, chat, QUESTION)
            return str(emu.wait_for_message(chat, timeout=30)["text"])

        def teach_from_gaps() -> None:
            report = admin_says("/gaps")
            assert QUESTION in str(report["text"])
            card = emu.wait_for_message(admin_chat)
            add = buttons(card)[0]
            assert add["text"] == f"Add to {knowledge.title('location_hours')}"
            emu.wait_for_callback_answer(emu.press_button(admin, card, add["callback_data"]))
            taught = emu.wait_for_message(admin_chat)["text"]
            assert "1 phrasing(s) now belong to Where and when?" in taught
            assert emu.wait_for_message(admin_chat)["text"] == shown(knowledge.message("gaps_done"))

        with bot_process(emu, database, content, ADMIN_IDS=str(admin.id)):
            assert patient_asks().startswith(FALLBACK)
            teach_from_gaps()
            assert patient_asks() == answer

            listing = admin_says("/learned")
            (undo,) = buttons(listing)
            emu.wait_for_callback_answer(emu.press_button(admin, listing, undo["callback_data"]))
            assert "is no longer taught" in emu.wait_for_message(admin_chat)["text"]
            assert patient_asks().startswith(FALLBACK)

            teach_from_gaps()  # taught again, to be exported
            emu.wait_until_idle()
            emu.assert_clean()

    visit = content / "intents" / "your_visit.yaml"
    comments = [line for line in visit.read_text().splitlines() if line.lstrip().startswith("#")]
    where = ("--database", str(database), "--content", str(content))
    exported = run_bot("learned", "export", *where)
    assert exported.returncode == 0, exported.stderr
    assert "1 phrasing(s) written" in exported.stdout
    text = visit.read_text()
    assert f"      - {QUESTION}\n" in text
    assert comments == [line for line in text.splitlines() if line.lstrip().startswith("#")]
    validated = run_bot("validate", "--content", str(content))
    assert validated.returncode == 0, validated.stdout + validated.stderr
    assert "0 taught phrasing(s)" in run_bot("learned", "list", *where).stdout
