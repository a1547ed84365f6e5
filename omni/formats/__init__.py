"""Date and number formats that differ from Django's defaults, per language.

Italian staff read dates as 25/10/2026 (not "25 ottobre 2026") everywhere in
the admin and the dashboards; numbers and money follow Django's Italian
separators (1.234,56).
"""
