"""Question analytics: the event store, privacy redaction, reports and the per-day chart.

Plain Python over SQLite, no Telegram here: the bot, the weekly digest and the terminal
commands all read and write through ``EventStore`` and format with ``reports``.
"""
