"""The content of flows/: its schema and its loader."""

from messenger_bot.content.loader import Button, Content, ContentError, check_content, load_content

__all__ = ["Button", "Content", "ContentError", "check_content", "load_content"]
