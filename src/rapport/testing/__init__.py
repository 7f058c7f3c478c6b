"""Installed only under the test suite (``RAPPORT_TESTING=1``).

Holds ``Specimen``, a small ``Record`` model with no domain of its own, so the
core machinery (permissions, audit, trash, custom fields, events, API
helpers) is tested the way every domain object will use it.
"""
