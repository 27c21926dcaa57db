"""The CLI's own sentences in German (default) and English; the server's messages come localized already."""

from __future__ import annotations

from wuffchat_client.models import ConversationState as S

TEXTS: dict[str, dict[str, str]] = {
    "de": {
        "email": "E-Mail-Adresse: ",
        "password": "Passwort: ",
        "password_again": "Passwort wiederholen: ",
        "password_mismatch": "die beiden Passwörter sind verschieden",
        "no_terminal": "kein Terminal für die Passwort-Eingabe; nutze --password-stdin",
        "registered": "Konto angelegt. Jetzt anmelden: wuffchat login {email}",
        "logged_in": "Angemeldet als {email}.",
        "logged_out": "Abgemeldet.",
        "not_logged_in": "Nicht angemeldet.",
        "login_hint": "Anmelden mit `wuffchat login` oder einen API-Schlüssel mit --api-key angeben.",
        "confirm_delete": "Konto und alle Daten endgültig löschen? (ja/nein) ",
        "confirm_needed": "zum Löschen ohne Terminal --yes angeben",
        "deleted": "Konto gelöscht.",
        "aborted": "Abgebrochen.",
        "chat_tip": "(„neustart“ beginnt von vorne, Strg-C oder Strg-D beendet)",
        "expired_resend": "Ich starte ein neues Gespräch und schicke deine Nachricht dort noch einmal.",
        "bye": "Tschüss!",
        "leave_forced": "die Verbindung ließ sich nicht in {seconds} s schließen; das Programm endet trotzdem",
        "no_matches": "Kein Verhalten passt sicher genug.",
        "no_conversations": "Noch keine Gespräche.",
        "retry_after": "(in {seconds} s noch einmal versuchen)",
        "hint_yes_no": "(ja/nein)",
        "hint_score": "(0 bis 10)",
        "hint_contact": "(optional; „nein“ überspringt)",
        "you": "Du",
        "DOG": "Hund",
        "COMPANION": "Begleiter",
        "USER": "Du",
    },
    "en": {
        "email": "Email address: ",
        "password": "Password: ",
        "password_again": "Repeat password: ",
        "password_mismatch": "the two passwords differ",
        "no_terminal": "no terminal for the password prompt; use --password-stdin",
        "registered": "Account created. Now log in: wuffchat login {email}",
        "logged_in": "Logged in as {email}.",
        "logged_out": "Logged out.",
        "not_logged_in": "Not logged in.",
        "login_hint": "Log in with `wuffchat login` or pass an API key with --api-key.",
        "confirm_delete": "Delete the account and all its data for good? (yes/no) ",
        "confirm_needed": "pass --yes to delete without a terminal",
        "deleted": "Account deleted.",
        "aborted": "Aborted.",
        "chat_tip": '("restart" starts over, Ctrl-C or Ctrl-D quits)',
        "expired_resend": "Starting a new conversation and sending your message there again.",
        "bye": "Bye!",
        "leave_forced": "the connection did not close within {seconds} s; leaving anyway",
        "no_matches": "No behaviour matches confidently enough.",
        "no_conversations": "No conversations yet.",
        "retry_after": "(try again in {seconds} s)",
        "hint_yes_no": "(yes/no)",
        "hint_score": "(0 to 10)",
        "hint_contact": '(optional; "no" skips)',
        "you": "You",
        "DOG": "Dog",
        "COMPANION": "Companion",
        "USER": "You",
    },
}

HINTS: dict[S, str] = {
    S.WAIT_FOR_CONFIRMATION: "hint_yes_no",
    S.ASK_FOR_EXERCISE: "hint_yes_no",
    S.END_OR_RESTART: "hint_yes_no",
    S.FEEDBACK_Q1: "hint_yes_no",
    S.FEEDBACK_Q3: "hint_yes_no",
    S.FEEDBACK_Q4: "hint_score",
    S.FEEDBACK_Q5: "hint_contact",
}

YES = frozenset({"ja", "j", "yes", "y"})


def text(language: str, key: str, **params: object) -> str:
    return TEXTS.get(language, TEXTS["de"])[key].format(**params)


def hint(language: str, state: S) -> str | None:
    """The answer hint for a state that expects yes/no, a score or an optional contact."""
    key = HINTS.get(state)
    return text(language, key) if key else None
