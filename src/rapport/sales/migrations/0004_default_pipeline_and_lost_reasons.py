"""A workspace starts with one sales pipeline and the usual lost reasons, so deals can
be opened before an admin has set anything up. Admins rename, add and reorder them
from Settings → Pipelines."""

from django.db import migrations

OPEN_STAGES = [
    ("Qualification", 10),
    ("Needs analysis", 25),
    ("Proposal", 50),
    ("Negotiation", 75),
]
LOST_REASONS = ["Price", "Competitor", "No budget", "No decision", "Timing", "Other"]


def add_pipeline(apps, schema_editor):
    Pipeline = apps.get_model("sales", "Pipeline")
    Stage = apps.get_model("sales", "Stage")
    LostReason = apps.get_model("sales", "LostReason")
    if not Pipeline.objects.exists():
        pipeline = Pipeline.objects.create(name="Sales", position=1, is_default=True)
        stages = [(name, probability, "open") for name, probability in OPEN_STAGES]
        stages += [("Won", 100, "won"), ("Lost", 0, "lost")]
        for position, (name, probability, kind) in enumerate(stages, start=1):
            Stage.objects.create(
                pipeline=pipeline, name=name, probability=probability, kind=kind, position=position
            )
    if not LostReason.objects.exists():
        for position, name in enumerate(LOST_REASONS, start=1):
            LostReason.objects.create(name=name, position=position)


class Migration(migrations.Migration):
    dependencies = [("sales", "0003_pipelines_and_deals")]

    operations = [migrations.RunPython(add_pipeline, migrations.RunPython.noop)]
