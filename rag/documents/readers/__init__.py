"""Readers of one corpus file: the page layouts of the archive's saved listing pages, one module each
(bullets.py, dashes.py, on the grammar they share in listing.py) listed in registry.py, and JSON Lines records
(jsonl.py). base.py holds what they return and the `PageReader` interface a layout implements.
"""
