"""Fake providers on loopback (Telegram Bot API, ...), for tests and benchmarks."""
