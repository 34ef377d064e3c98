"""Clinic FAQ assistant: a pure question-answering core with a Telegram front end on top."""

__version__ = "0.1.0"
