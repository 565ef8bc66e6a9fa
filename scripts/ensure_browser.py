"""Placeholder until the console's browser tests land: nothing to install yet."""
