"""Conversation service."""
