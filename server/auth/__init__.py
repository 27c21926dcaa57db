"""Authentication: accounts, CAPTCHA, passwords, JWT access and rotating refresh tokens, API keys."""
