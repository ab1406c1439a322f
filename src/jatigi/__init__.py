"""Jatigi: protection and assistance for displaced people living among host communities."""

__version__ = "0.1.0"
