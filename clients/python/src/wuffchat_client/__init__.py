"""WuffChat Python client."""

from wuffchat_client.captcha import CaptchaUnsolvableError, solve_captcha

__all__ = ["CaptchaUnsolvableError", "solve_captcha"]
