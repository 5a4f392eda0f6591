"""Jixiao write side: aggregates, events, commands, rules and the application."""
