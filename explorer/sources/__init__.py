"""The official public datasets: the registry of publishers, URLs and mirror names (``registry``), one
fetch path for a URL or a mirror (``fetch``), and tolerant readers that name file, row and column
when something is wrong (``readers``, ``tabular``).
"""
