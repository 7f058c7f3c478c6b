from django.db import models

from rapport.core.models import Record


class Specimen(Record):
    """A record used by the core tests in place of a domain object."""

    name = models.CharField(max_length=100)
    amount = models.DecimalField(max_digits=12, decimal_places=2, null=True, blank=True)

    class Meta:
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return self.name
