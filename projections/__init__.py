"""Jixiao read side: projectors, views and point-in-time queries."""
