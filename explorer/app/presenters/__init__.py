"""Presenters: the app's data turned into what a page shows (text, table rows, map payloads).

Pure presentation over :class:`explorer.services.app_data.AppData`: numbers are formatted with
`explorer.domain.disclosure`'s formatters (SUPPRESSED, format_count, format_rate) and
`explorer.figures.classify.format_number`; heavy results are registered in AppData's one cache.

- :mod:`.format`: units, titles and value/CI/count text;
- :mod:`.map`: one map view's values payload, legend and text, hover details, the map's theme;
- :mod:`.tables`: the map's table, page by page;
- :mod:`.profile`: key-metrics rows of an area profile;
- :mod:`.outreach`: which areas an outreach team should start with.
"""
