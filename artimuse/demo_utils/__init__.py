"""Compatibility with the original ArtiMuse code's import paths."""
