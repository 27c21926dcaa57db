"""The one-shot commands: health, register, login, logout, whoami, search, history, export, delete-account.

Each takes the `Context` and returns the exit code; errors propagate as the client's exceptions and
main.py turns them into one line and an exit code.
"""

from __future__ import annotations

import json
import sys

from wuffchat_client.cli.context import Context, UsageError
from wuffchat_client.cli.render import message_text
from wuffchat_client.cli.texts import YES

EXIT_OK = 0
EXIT_FAILURE = 1  # health not SERVING, delete-account not confirmed


def health(ctx: Context) -> int:
    """SERVING -> exit 0; any other status -> exit 1."""
    with ctx.client(user=False) as client:
        status = client.health(ctx.args.service)
    ctx.say(status)
    ctx.emit({"service": ctx.args.service, "status": status})
    return EXIT_OK if status == "SERVING" else EXIT_FAILURE


def register(ctx: Context) -> int:
    email = ctx.email()
    password = ctx.password(confirm=True)
    with ctx.client(user=False) as client:
        user_id = client.register(email, password)
    ctx.say(ctx.t("registered", email=email))
    ctx.emit({"user_id": user_id, "email": email})
    return EXIT_OK


def login(ctx: Context) -> int:
    email = ctx.email()
    password = ctx.password()
    with ctx.client(user=False) as client:
        tokens = client.login(email, password)
    ctx.store.save(tokens, email)
    ctx.say(ctx.t("logged_in", email=email))
    ctx.emit({"logged_in": True, "email": email, "token_file": str(ctx.store.path)})
    return EXIT_OK


def logout(ctx: Context) -> int:
    if ctx.store.load() is None:
        ctx.say(ctx.t("not_logged_in"))
        ctx.emit({"logged_in": False})
        return EXIT_OK
    with ctx.client() as client:
        client.logout(all_sessions=ctx.args.all)  # the listener removes the stored tokens
    ctx.say(ctx.t("logged_out"))
    ctx.emit({"logged_in": False})
    return EXIT_OK


def whoami(ctx: Context) -> int:
    with ctx.client() as client:
        profile = client.profile()
    ctx.say(f"{profile.email} ({profile.user_id}, {', '.join(profile.roles)})")
    ctx.emit(profile)
    return EXIT_OK


def search(ctx: Context) -> int:
    with ctx.client() as client:
        matches = client.search_behaviors(ctx.args.query, ctx.args.limit)
    for match in matches:
        ctx.say(f"{match.score:.2f}  {match.id}  {match.title}")
    if not matches:
        ctx.say(ctx.t("no_matches"))
    ctx.emit(matches)
    return EXIT_OK


def history(ctx: Context) -> int:
    """One conversation (sender: text), or a table of them with a header and readable states."""
    with ctx.client() as client:
        if ctx.args.conversation_id:
            conversation = client.history(ctx.args.conversation_id)
            for message in conversation.messages:
                ctx.say(f"{ctx.t(message.sender.value)}: {message_text(message)}")
            ctx.emit(conversation)
            return EXIT_OK
        page = client.list_conversations(ctx.args.limit)
    if not page.conversations:
        ctx.say(ctx.t("no_conversations"))
    else:
        rows = [
            (s.id, f"{s.updated_at.astimezone():%Y-%m-%d %H:%M}", ctx.t(f"state_{s.state.value}"), s.behavior_title)
            for s in page.conversations
        ]
        header = (ctx.t("col_id"), ctx.t("col_updated"), ctx.t("col_state"), ctx.t("col_topic"))
        widths = [max(len(row[i]) for row in [header, *rows]) for i in range(3)]
        for number, row in enumerate([header, *rows]):
            topic = row[3] or ctx.t("no_title") if number else row[3]
            ctx.say("  ".join(cell.ljust(width) for cell, width in zip(row[:3], widths, strict=True)) + "  " + topic)
    ctx.emit(page)
    return EXIT_OK


def export(ctx: Context) -> int:
    """All personal data as JSON on stdout (in both modes): `wuffchat export > me.json`."""
    with ctx.client() as client:
        data = client.export_my_data()
    json.dump(data, sys.stdout, ensure_ascii=False, indent=None if ctx.json else 2)
    print(flush=True)
    return EXIT_OK


def delete_account(ctx: Context) -> int:
    if not ctx.args.yes:
        if not ctx.interactive:
            raise UsageError(ctx.t("confirm_needed"))
        answer = input(ctx.t("confirm_delete")).strip().lower()
        if answer not in YES:
            ctx.say(ctx.t("aborted"))
            return EXIT_FAILURE
    password = ctx.password()
    with ctx.client() as client:
        client.delete_account(password)  # the listener removes the stored tokens
    ctx.store.save(None)
    ctx.say(ctx.t("deleted"))
    ctx.emit({"deleted": True})
    return EXIT_OK
