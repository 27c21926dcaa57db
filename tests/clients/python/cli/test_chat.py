"""`wuffchat chat` as a subprocess: a whole conversation fed from stdin, hints, an exercise's steps as a
list, Ctrl-C, and expiry (the message typed into an expired conversation is sent again in a new one)."""

from __future__ import annotations

import asyncio
import json
import signal
import uuid
from typing import Any

from tests.clients.python.cli.conftest import Cli, CliFactory
from tests.conftest import StartServer
from tests.support.auth import PASSWORD, SERVICE_KEY
from tests.support.clock import Clock

# The shortest path through all 11 states, back to GREETING with the thank-you (SPEC.md section 6).
FLOW = [
    ("Mein Hund zieht beim Spazierengehen ständig an der Leine nach vorne.", "WAIT_FOR_CONFIRMATION"),
    ("ja gerne", "WAIT_FOR_CONTEXT"),
    ("Meistens morgens auf dem Feld, wenn er Wild riecht. Er ist ein Beagle.", "ASK_FOR_EXERCISE"),
    ("ja", "END_OR_RESTART"),
    ("nee", "FEEDBACK_Q1"),
    ("ja, sehr", "FEEDBACK_Q2"),
    ("spannend", "FEEDBACK_Q3"),
    ("passt", "FEEDBACK_Q4"),
    ("9", "FEEDBACK_Q5"),
    ("nein", "GREETING"),
]


async def test_chat_whole_flow_as_a_user_json(cli: Cli) -> None:
    email = f"chat-{uuid.uuid4().hex[:12]}@example.org"
    assert (await cli.run("register", email, "--password-stdin", stdin=PASSWORD + "\n")).code == 0
    assert (await cli.run("login", email, "--password-stdin", stdin=PASSWORD + "\n")).code == 0

    result = await cli.run("chat", "--json", stdin="".join(f"{text}\n" for text, _ in FLOW))
    assert result.code == 0, result.stderr
    start, *turns = result.json_lines()
    assert start["state"] == "WAIT_FOR_SYMPTOM" and len(start["id"]) == 43
    assert [m["kind"] for m in start["messages"]] == ["GREETING", "QUESTION"]
    assert [t["state"] for t in turns] == [state for _, state in FLOW]
    assert {t["conversation_id"] for t in turns} == {start["id"]}
    thanks = turns[-1]["messages"][-1]
    assert (thanks["sender"], thanks["kind"]) == ("COMPANION", "GREETING")

    history = await cli.run("history", start["id"], "--json")
    assert history.code == 0, history.stderr
    [conversation] = history.json_lines()
    assert conversation["state"] == "GREETING"
    assert sum(m["sender"] == "USER" for m in conversation["messages"]) == len(FLOW)


async def test_chat_streams_text_with_hints(cli: Cli) -> None:
    lines = "Mein Hund bellt jeden Besucher an der Haustür laut an.\n\nvielleicht\nneustart\n"
    result = await cli.run("--api-key", SERVICE_KEY, "chat", stdin=lines)
    assert result.code == 0, result.stderr
    out = result.stdout
    assert "(ja/nein)" in out  # after the dog's view: does the owner want to know more?
    assert "(„neustart“ beginnt von vorne" in out and out.rstrip().endswith("Tschüss!")
    assert "Willst du mehr erfahren" in out
    english = await cli.run(
        "--api-key", SERVICE_KEY, "--lang", "en", "chat", stdin="My dog keeps pulling on the leash on every walk.\n"
    )
    assert english.code == 0 and "(yes/no)" in english.stdout and english.stdout.rstrip().endswith("Bye!")


async def test_chat_ctrl_c_leaves_cleanly(cli: Cli) -> None:
    process = await cli.spawn("--api-key", SERVICE_KEY, "chat")
    assert process.stdout is not None and process.stderr is not None
    seen = ""
    while "neustart" not in seen:  # the tip line follows the greeting: the chat waits for input now
        line = await asyncio.wait_for(process.stdout.readline(), 30)
        assert line, "chat ended before it waited for input"
        seen += line.decode()
    process.send_signal(signal.SIGINT)
    out, err = await asyncio.wait_for(process.communicate(), 30)
    assert process.returncode == 0
    assert "Tschüss!" in out.decode()
    assert "Traceback" not in err.decode() and "KeyboardInterrupt" not in err.decode()


def _exercise(turn: dict[str, Any]) -> dict[str, Any]:
    """The one message of a turn that carries an exercise's steps."""
    exercises: list[dict[str, Any]] = [m for m in turn["messages"] if m["steps"]]
    assert len(exercises) == 1, turn
    return exercises[0]


async def test_chat_shows_exercise_steps_as_a_list(cli: Cli) -> None:
    to_exercise = "".join(f"{text}\n" for text, _ in FLOW[:4])  # up to "ja" for the exercise
    data = await cli.run("--api-key", SERVICE_KEY, "chat", "--json", stdin=to_exercise)
    assert data.code == 0, data.stderr
    *_, turn = data.json_lines()
    assert turn["state"] == "END_OR_RESTART"
    exercise = _exercise(turn)
    steps: list[str] = exercise["steps"]
    assert exercise["kind"] == "INSTRUCTION" and all(isinstance(s, str) and s for s in steps)
    written_out = "\n".join(f"{n}. {step}" for n, step in enumerate(steps, 1))
    assert exercise["text"].endswith("\n" + written_out)  # plain-text clients lose nothing
    intro = exercise["text"].removesuffix("\n" + written_out).rstrip()

    plain = await cli.run("--api-key", SERVICE_KEY, "chat", stdin=to_exercise)
    assert plain.code == 0, plain.stderr
    lines = plain.stdout.splitlines()
    width = len(str(len(steps)))
    listed = [f"  {n:>{width}}. {step}" for n, step in enumerate(steps, 1)]
    first = lines.index(listed[0])
    assert lines[first : first + len(steps)] == listed  # one step per line, indented, in order
    assert intro.splitlines()[-1] in lines[first - 1]  # right after the exercise's own text
    assert f"1. {steps[0]}" not in [line.strip() for line in lines[:first]]  # the steps are not shown twice
    assert "(ja/nein)" in lines[first + len(steps) :]  # the chat goes on: another behaviour?


async def test_chat_expired_conversation_sends_the_message_again_in_a_new_one(
    start_server: StartServer, clock: Clock, cli_for: CliFactory
) -> None:
    server = await start_server(CONVERSATION_TTL_SECONDS=60)
    cli: Cli = cli_for(f"127.0.0.1:{server.port}")
    process = await cli.spawn("--api-key", SERVICE_KEY, "--json", "chat")
    assert process.stdout is not None and process.stdin is not None
    first = await asyncio.wait_for(process.stdout.readline(), 30)
    clock.advance(61)
    text, state = FLOW[0]
    out, err = await asyncio.wait_for(process.communicate(f"{text}\n".encode()), 30)
    assert process.returncode == 0, err
    old, notice, new, answer = [json.loads(first), *(json.loads(line) for line in out.decode().splitlines())]
    assert notice["notice"] == "expired" and notice["resend"] is True
    assert new["state"] == "WAIT_FOR_SYMPTOM" and new["id"] != old["id"]
    assert answer["conversation_id"] == new["id"] and answer["state"] == state
    assert "abgelaufen" in err.decode()

    history = await cli.run("--api-key", SERVICE_KEY, "history", new["id"], "--json")
    assert history.code == 0, history.stderr
    [conversation] = history.json_lines()
    assert [m["text"] for m in conversation["messages"] if m["sender"] == "USER"] == [text]


async def test_chat_expired_conversation_says_so_in_one_line(
    start_server: StartServer, clock: Clock, cli_for: CliFactory
) -> None:
    server = await start_server(CONVERSATION_TTL_SECONDS=60)
    cli: Cli = cli_for(f"127.0.0.1:{server.port}")
    process = await cli.spawn("--api-key", SERVICE_KEY, "chat")
    assert process.stdout is not None and process.stdin is not None
    seen = ""
    while "neustart" not in seen:  # the tip line: the chat waits for input now
        line = await asyncio.wait_for(process.stdout.readline(), 30)
        assert line, "chat ended before it waited for input"
        seen += line.decode()
    clock.advance(61)
    out, err = await asyncio.wait_for(process.communicate(f"{FLOW[0][0]}\n".encode()), 30)
    assert process.returncode == 0, err
    lines = out.decode().splitlines()
    resend = "Ich starte ein neues Gespräch und schicke deine Nachricht dort noch einmal."
    assert lines.count(resend) == 1
    assert "(ja/nein)" in lines[lines.index(resend) :]  # the message was answered in the new conversation
    assert "abgelaufen" in err.decode() and "Traceback" not in err.decode()
