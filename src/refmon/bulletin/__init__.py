"""Bulletins for publication: funnel plots, monthly series and tables from a report.

Needs the `report` extra (matplotlib, Jinja2); nothing else in refmon imports it.
"""
