"""The supervisor's seat: steering notes (text, optional lever focus, expiry) and feedback on experiments.

`families.py` is the one table of lever families and their knobs; `store.py` the records (who, when,
text) and their rules; `context.py` what the next iteration's prompt is built from.
"""
