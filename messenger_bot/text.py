"""Text normalisation shared by triage and the FAQ (STUB: being replaced)."""

import unicodedata


def normalise(text: str) -> str:
    """Lower-case, NFKC, plain quotes, no accents."""
    text = unicodedata.normalize("NFKC", text).lower()
    return text
