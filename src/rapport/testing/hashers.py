"""Argon2 with the cheapest parameters, so each test user does not cost half a second.

The hash format is Argon2's own, so tests still see what production stores.
"""

from django.contrib.auth.hashers import Argon2PasswordHasher


class FastArgon2PasswordHasher(Argon2PasswordHasher):
    time_cost = 1
    memory_cost = 8
    parallelism = 1
