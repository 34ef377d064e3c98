"""Where the shipped content lives, in a source checkout and in an installed package."""

from __future__ import annotations

from pathlib import Path

SETTINGS_FILE = "clinic.yaml"
_PACKAGE_DIR = Path(__file__).resolve().parent


def default_content_dir() -> Path:
    """The project's own content: the repository root, or the copy inside an installed wheel."""
    checkout = _PACKAGE_DIR.parent
    if (checkout / SETTINGS_FILE).is_file() and (checkout / "intents").is_dir():
        return checkout
    return _PACKAGE_DIR / "_content"
