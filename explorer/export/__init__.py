"""Writers of files that leave the server; ``safe_cells`` guards every CSV/Excel cell against
spreadsheet formula injection.
"""
