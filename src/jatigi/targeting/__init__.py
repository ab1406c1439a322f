"""Targeting by vulnerability: assessments, indicators, vulnerability models, scoring."""
