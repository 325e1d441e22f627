"""A health-information messaging bot about lip twitching."""

__version__ = "0.1.0"
