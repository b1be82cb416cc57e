"""Person-level records: the extract layouts (``schema``), versioned table storage with an atomic
pointer switch (``store``), the importer of real extracts (``imports``) and the DuckDB aggregation of
records to the cell tables the metrics engine reads (``aggregate``).
"""
