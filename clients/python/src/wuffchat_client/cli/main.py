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
from wuffchat_client.cli import commands, failures, language
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


def _common_options(lang: str) -> argparse.ArgumentParser:
    """Options accepted before and after the command; SUPPRESS keeps a later default from undoing them."""
    common = argparse.ArgumentParser(add_help=False)
    s = argparse.SUPPRESS
    common.add_argument("--target", default=s, help=text(lang, "help_target", default=DEFAULT_TARGET))
    common.add_argument("--api-key", default=s, help=text(lang, "help_api_key"))
    common.add_argument("--lang", choices=language.LANGUAGES, default=s, help=text(lang, "help_lang"))
    common.add_argument("--json", action="store_true", default=s, help=text(lang, "help_json"))
    common.add_argument("--tls", action="store_true", default=s, help=text(lang, "help_tls"))
    common.add_argument("--ca-file", default=s, help=text(lang, "help_ca_file"))
    common.add_argument("--cert-file", default=s, help=text(lang, "help_cert_file"))
    common.add_argument("--key-file", default=s, help=text(lang, "help_key_file"))
    common.add_argument("--timeout", type=float, default=s, help=text(lang, "help_timeout"))
    return common


def build_parser(lang: str = language.DEFAULT) -> argparse.ArgumentParser:
    """The parser with every help text in `lang` (argparse's own words too: `language.use_for_argparse`)."""
    language.use_for_argparse(lang)
    common = _common_options(lang)
    parser = argparse.ArgumentParser(prog="wuffchat", description=text(lang, "help_description"), parents=[common])
    parser.add_argument(
        "--version", action="version", version=f"wuffchat {__version__}", help=text(lang, "help_version")
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(name: str, handler: Command) -> argparse.ArgumentParser:
        help_text = text(lang, f"help_{name.replace('-', '_')}")
        p = sub.add_parser(name, parents=[common], help=help_text, description=help_text)
        p.set_defaults(handler=handler)
        return p

    p = command("health", commands.health)
    p.add_argument("--service", default="", help=text(lang, "help_service"))
    for name, handler in (("register", commands.register), ("login", commands.login)):
        p = command(name, handler)
        p.add_argument("email", nargs="?", help=text(lang, "help_email"))
        p.add_argument("--password-stdin", action="store_true", help=text(lang, "help_password_stdin"))
    p = command("logout", commands.logout)
    p.add_argument("--all", action="store_true", help=text(lang, "help_all"))
    command("whoami", commands.whoami)
    p = command("chat", chat)
    p.add_argument("--resume", metavar="ID", help=text(lang, "help_resume"))
    p = command("search", commands.search)
    p.add_argument("query", help=text(lang, "help_query"))
    p.add_argument("--limit", type=int, default=5, help=text(lang, "help_limit"))
    p = command("history", commands.history)
    p.add_argument("conversation_id", nargs="?", help=text(lang, "help_conversation_id"))
    p.add_argument("--limit", type=int, default=20, help=text(lang, "help_limit"))
    command("export", commands.export)
    p = command("delete-account", commands.delete_account)
    p.add_argument("--yes", action="store_true", help=text(lang, "help_yes"))
    p.add_argument("--password-stdin", action="store_true", help=text(lang, "help_password_stdin"))
    return parser


def _fill_defaults(args: argparse.Namespace, lang: str) -> argparse.Namespace:
    env = os.environ
    defaults = {
        "target": env.get("WUFFCHAT_TARGET") or DEFAULT_TARGET,
        "api_key": env.get("WUFFCHAT_API_KEY") or None,
        "lang": lang,
        "json": False,
        "tls": False,
        "ca_file": None,
        "cert_file": env.get("WUFFCHAT_CERT_FILE") or None,
        "key_file": env.get("WUFFCHAT_KEY_FILE") or None,
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
    call = failures.Call(args.lang, args.target, args.tls, args.ca_file, args.timeout, args.command)
    return _fail(args, code, failures.describe(call, exc), exc.code.name.lower())


def _target_error(args: argparse.Namespace, exc: TargetError) -> int:
    if str(exc).startswith("cannot read CA file"):
        message = text(args.lang, "ca_unreadable", file=args.ca_file)
    elif str(exc).startswith(("cannot read client certificate", "a client certificate needs")):
        message = text(args.lang, "client_cert_problem", detail=str(exc))
    else:
        message = text(args.lang, "bad_target", target=args.target)
    return _fail(args, EXIT_USAGE, message, "usage")


def main(argv: Sequence[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    lang = language.choose(argv, os.environ)
    args = _fill_defaults(build_parser(lang).parse_args(argv), lang)
    try:
        code: int = args.handler(Context(args))
        return code
    except errors.WuffChatError as exc:
        return _server_error(args, exc)
    except UsageError as exc:
        return _fail(args, EXIT_USAGE, str(exc), "usage")
    except TargetError as exc:
        return _target_error(args, exc)
    except CaptchaUnsolvableError:
        return _fail(args, EXIT_ERROR, text(args.lang, "captcha_unsolvable"), "captcha")
    except KeyboardInterrupt:
        print(file=sys.stderr)
        return EXIT_INTERRUPTED
