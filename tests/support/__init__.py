"""Test helpers: real servers (PostgreSQL, Redis) started on 127.0.0.1 for the session."""
