"""Report queries, exports and the one PDF helper (WeasyPrint)."""
