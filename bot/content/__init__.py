"""The clinic's content: reading and checking the YAML files (``loader``, ``sections``,
``checks``), what they become (``knowledge``), the clinic's settings, the messages the code
says, the HTML Telegram accepts, and what changed between two versions."""
