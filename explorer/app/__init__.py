"""The thin Dash shell: it parses views, checks roles and calls services and presenters.

``factory.create_app`` is the composition root; ``pages/`` holds one module per page (layout and thin
callbacks), ``presenters/`` turns released tables into text and map payloads, ``ids.py`` defines every
component id once, ``state.py`` the views kept in the URL, ``auth.py`` / ``security.py`` /
``view_audit.py`` sign-in, headers and the audit of data requests. It reaches data only through
``explorer.services`` (import contract in pyproject.toml).
"""
