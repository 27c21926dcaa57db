"""Knowledge service."""
