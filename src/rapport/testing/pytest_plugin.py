"""Loaded by pytest before Django (``-p`` in pyproject): point settings at test resources.

The suite runs on SQLite unless ``RAPPORT_TEST_DATABASE_URL`` names another
database, and never on the developer's own ``RAPPORT_DATABASE_URL``.
"""

import os
import tempfile

os.environ["RAPPORT_TESTING"] = "1"
os.environ["RAPPORT_DATABASE_URL"] = os.environ.get("RAPPORT_TEST_DATABASE_URL", "")
os.environ["RAPPORT_DATA_DIR"] = tempfile.mkdtemp(prefix="rapport-test-")
os.environ["RAPPORT_SECRET_KEY"] = "test-secret-key-" + "x" * 40
os.environ["RAPPORT_EMAIL_URL"] = "memory:"
os.environ["RAPPORT_TASK_BACKEND"] = os.environ.get("RAPPORT_TEST_TASK_BACKEND", "immediate")
os.environ.setdefault("RAPPORT_LOG_LEVEL", "WARNING")
