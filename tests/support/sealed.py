"""Helpers for the encryption-at-rest tests: a whole conversation of a signed-up user, and the raw bytes
of a database as an attacker with a copy would see them (the SQLite files, or `pg_dump` output)."""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import grpc
from sqlalchemy.engine import make_url
from wuffchat.conversation.v1 import conversation_service_pb2 as pb
from wuffchat.conversation.v1 import conversation_service_pb2_grpc

from tests.support.auth import bearer, signed_up

SYMPTOM = "Mein Hund Bruno zieht beim Spazierengehen in der Lindenallee ständig an der Leine."
CONTEXT = "Meistens morgens am Kanal hinter der Bäckerei Sommer, wenn er Enten riecht."
HELPED = "hat uns wirklich geholfen"
CONTACT = "kontakt.erika@hundeschule-sonnenwiese.example"


@dataclass(frozen=True)
class Owner:
    email: str
    access_token: str
    conversation_id: str


async def owner_with_history(channel: grpc.aio.Channel, email: str) -> Owner:
    """Sign up `email`, walk one conversation from the greeting to the thank-you with feedback and contact."""
    tokens = await signed_up(channel, email)
    meta = bearer(tokens.access_token)
    stub = conversation_service_pb2_grpc.ConversationServiceStub(channel)
    started = await stub.StartConversation(pb.StartConversationRequest(language="de"), metadata=meta)
    path = [
        (SYMPTOM, pb.CONVERSATION_STATE_WAIT_FOR_CONFIRMATION),
        ("ja gerne", pb.CONVERSATION_STATE_WAIT_FOR_CONTEXT),
        (CONTEXT, pb.CONVERSATION_STATE_ASK_FOR_EXERCISE),
        ("ja", pb.CONVERSATION_STATE_END_OR_RESTART),
        ("nee", pb.CONVERSATION_STATE_FEEDBACK_Q1),
        (HELPED, pb.CONVERSATION_STATE_FEEDBACK_Q2),
        ("spannend", pb.CONVERSATION_STATE_FEEDBACK_Q3),
        ("passt", pb.CONVERSATION_STATE_FEEDBACK_Q4),
        ("9", pb.CONVERSATION_STATE_FEEDBACK_Q5),
        (CONTACT, pb.CONVERSATION_STATE_GREETING),
    ]
    for text, expected in path:
        reply = await stub.SendMessage(
            pb.SendMessageRequest(conversation_id=started.conversation_id, text=text), metadata=meta
        )
        assert reply.state == expected, (text, reply)
    return Owner(email, tokens.access_token, started.conversation_id)


def pg_dump_binary() -> str:
    """Debian's pg_dump of the newest installed major version (the wrapper in /usr/bin needs a cluster)."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_dump"))
    if found:
        return found[-1]
    path = shutil.which("pg_dump")
    assert path is not None, "pg_dump not installed (Debian package postgresql)"
    return path


def raw_database(database_url: str) -> bytes:
    """Everything the database holds, as bytes: the SQLite file with its WAL, or a plain `pg_dump`."""
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        path = Path(str(url.database))
        return b"".join(p.read_bytes() for p in (path, Path(f"{path}-wal"), Path(f"{path}-journal")) if p.exists())
    dump = subprocess.run(
        [
            pg_dump_binary(),
            "--no-owner",
            "-h",
            url.host or "127.0.0.1",
            "-p",
            str(url.port or 5432),
            "-U",
            url.username or "postgres",
            str(url.database),
        ],
        env={**os.environ, "PGPASSWORD": url.password or ""},
        capture_output=True,
        check=True,
        timeout=60,
    )
    return dump.stdout
