"""Responders: turn the knowledge texts into the dog's answer (offline default, OpenAI optional)."""
