"""`wuffchat`: options, commands, and the exit codes (documented in clients/python/README.md).

Exit codes: 0 success; 1 failure (health not SERVING, an unexpected server error, deletion not
confirmed); 2 usage (bad options, no terminal for a prompt); 3 not authenticated or not permitted;
4 request rejected (invalid input, already exists, not found, conversation expired); 5 rate limited;
6 server unreachable or too slow; 130 interrupted (Ctrl-C outside the chat).
Errors are one line on stderr, `wuffchat: <message>`; no traceback, no token, ever.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence

from wuffchat_client import errors
from wuffchat_client._channel import DEFAULT_TARGET, TargetError
from wuffchat_client._version import __version__
from wuffchat_client.captcha import CaptchaUnsolvableError
from wuffchat_client.cli import commands
from wuffchat_client.cli.chat import chat
from wuffchat_client.cli.context import Context, UsageError, to_json
from wuffchat_client.cli.texts import text

EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_AUTH = 3
EXIT_REJECTED = 4
EXIT_RATE_LIMITED = 5
EXIT_UNAVAILABLE = 6
EXIT_INTERRUPTED = 130

_EXIT_CODES: tuple[tuple[type[errors.WuffChatError], int], ...] = (
    (errors.Unauthenticated, EXIT_AUTH),
    (errors.PermissionDenied, EXIT_AUTH),
    (errors.InvalidArgument, EXIT_REJECTED),
    (errors.AlreadyExists, EXIT_REJECTED),
    (errors.NotFound, EXIT_REJECTED),
    (errors.ConversationExpired, EXIT_REJECTED),
    (errors.RateLimited, EXIT_RATE_LIMITED),
    (errors.Unavailable, EXIT_UNAVAILABLE),
)

Command = Callable[[Context], int]


def _common_options() -> argparse.ArgumentParser:
    """Options accepted before and after the command; SUPPRESS keeps a later default from undoing them."""
    common = argparse.ArgumentParser(add_help=False)
    s = argparse.SUPPRESS
    common.add_argument("--target", default=s, help=f"server address (env WUFFCHAT_TARGET; {DEFAULT_TARGET})")
    common.add_argument("--api-key", default=s, help="API key of a service (env WUFFCHAT_API_KEY)")
    common.add_argument("--lang", choices=("de", "en"), default=s, help="language (env WUFFCHAT_LANG; de)")
    common.add_argument("--json", action="store_true", default=s, help="JSON output for scripts")
    common.add_argument("--tls", action="store_true", default=s, help="TLS on a host:port target")
    common.add_argument("--ca-file", default=s, help="PEM CA bundle to trust (implies --tls)")
    common.add_argument("--timeout", type=float, default=s, help="deadline per call in seconds (10)")
    return common


def build_parser() -> argparse.ArgumentParser:
    common = _common_options()
    parser = argparse.ArgumentParser(prog="wuffchat", description="WuffChat at the terminal.", parents=[common])
    parser.add_argument("--version", action="version", version=f"wuffchat {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(name: str, handler: Command, help_text: str) -> argparse.ArgumentParser:
        p = sub.add_parser(name, parents=[common], help=help_text, description=help_text)
        p.set_defaults(handler=handler)
        return p

    p = command("health", commands.health, "the server's health status")
    p.add_argument("--service", default="", help="one service's status (default: the whole server)")
    for name, handler, help_text in (
        ("register", commands.register, "create an account"),
        ("login", commands.login, "log in and keep the session in a 0600 file"),
    ):
        p = command(name, handler, help_text)
        p.add_argument("email", nargs="?", help="email address (prompted when missing)")
        p.add_argument("--password-stdin", action="store_true", help="read the password from stdin")
    p = command("logout", commands.logout, "end the stored session")
    p.add_argument("--all", action="store_true", help="end every session of the account")
    command("whoami", commands.whoami, "the logged-in user's profile")
    p = command("chat", chat, "talk with the dog (Ctrl-C or Ctrl-D leaves)")
    p.add_argument("--resume", metavar="ID", help="continue a conversation")
    p = command("search", commands.search, "search the knowledge base")
    p.add_argument("query")
    p.add_argument("--limit", type=int, default=5)
    p = command("history", commands.history, "list conversations, or show one")
    p.add_argument("conversation_id", nargs="?")
    p.add_argument("--limit", type=int, default=20)
    command("export", commands.export, "all your personal data as JSON on stdout")
    p = command("delete-account", commands.delete_account, "delete your account and all its data")
    p.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    p.add_argument("--password-stdin", action="store_true", help="read the password from stdin")
    return parser


def _fill_defaults(args: argparse.Namespace) -> argparse.Namespace:
    env = os.environ
    defaults = {
        "target": env.get("WUFFCHAT_TARGET") or DEFAULT_TARGET,
        "api_key": env.get("WUFFCHAT_API_KEY") or None,
        "lang": env.get("WUFFCHAT_LANG") if env.get("WUFFCHAT_LANG") in ("de", "en") else "de",
        "json": False,
        "tls": False,
        "ca_file": None,
        "timeout": 10.0,
    }
    for name, value in defaults.items():
        if not hasattr(args, name):
            setattr(args, name, value)
    return args


def _fail(args: argparse.Namespace, code: int, message: str, kind: str) -> int:
    if getattr(args, "json", False):
        print(to_json({"error": kind, "message": message}), file=sys.stderr, flush=True)
    else:
        print(f"wuffchat: {message}", file=sys.stderr, flush=True)
    return code


def _server_error(args: argparse.Namespace, exc: errors.WuffChatError) -> int:
    code = next((c for kind, c in _EXIT_CODES if isinstance(exc, kind)), EXIT_ERROR)
    message = str(exc)
    if isinstance(exc, errors.RateLimited):
        message = f"{message} {text(args.lang, 'retry_after', seconds=round(exc.retry_after))}"
    if isinstance(exc, errors.Unauthenticated):
        message = f"{message} {text(args.lang, 'login_hint')}"
    return _fail(args, code, message, exc.code.name.lower())


def main(argv: Sequence[str] | None = None) -> int:
    args = _fill_defaults(build_parser().parse_args(argv))
    try:
        code: int = args.handler(Context(args))
        return code
    except errors.WuffChatError as exc:
        return _server_error(args, exc)
    except (UsageError, TargetError) as exc:
        return _fail(args, EXIT_USAGE, str(exc), "usage")
    except CaptchaUnsolvableError as exc:
        return _fail(args, EXIT_ERROR, f"CAPTCHA: {exc}", "captcha")
    except KeyboardInterrupt:
        print(file=sys.stderr)
        return EXIT_INTERRUPTED
