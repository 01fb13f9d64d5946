"""`python -m ml report`: a self-contained HTML model card for one registry version."""

from ml.report.card import build_card, write_report

__all__ = ["build_card", "write_report"]
