"""Understanding typed messages: the FAQ matcher and small talk."""

from messenger_bot.faq.matcher import FaqMatcher, Match

__all__ = ["FaqMatcher", "Match"]
