"""Users, password hashes, server-side sessions, sign-in throttling and the rotating audit log.

No web framework here: ``explorer.app.auth`` wires these into Flask. Modules: ``users`` (the users
file, authentication), ``sessions``, ``throttle`` (lock-out), ``auditlog`` (append-only, rotating),
``db`` (the shared SQLite database), ``files`` (owner-only files).
"""
