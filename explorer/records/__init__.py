"""Person-level records: the extract layouts (``schema``), versioned table storage with an atomic
pointer switch (``store``), the importer of real extracts (``imports``), the one SQL definition of the
cell tables the metrics engine reads (``cellsql``), run by DuckDB (``aggregate``) or by Spark and
Dask (``engines``), and cell tables stored once, keyed to the records they came from (``cellstore``).
"""
