"""Email addresses: validated (RFC syntax, no DNS lookups) and normalized to one spelling per mailbox."""

from __future__ import annotations

from email_validator import EmailNotValidError, validate_email

MAX_EMAIL_LENGTH = 254


class InvalidEmailError(ValueError):
    """The address is not a valid email address."""


def normalize_email(raw: str) -> str:
    """The canonical form of `raw`: NFC, IDNA domain, and lower-case as a whole.

    Lower-casing the local part too is a choice: RFC 5321 lets a server treat it case-sensitively,
    but practically none do, and one account per mailbox beats two accounts that differ in case.

    Raises:
        InvalidEmailError: not a syntactically valid address, or longer than 254 characters.
    """
    try:
        result = validate_email(raw.strip(), check_deliverability=False)
    except EmailNotValidError:
        raise InvalidEmailError("invalid email address") from None
    normalized = result.normalized.lower()
    if len(normalized) > MAX_EMAIL_LENGTH:
        raise InvalidEmailError("email address too long")
    return normalized
