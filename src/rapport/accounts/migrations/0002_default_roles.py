"""Roles ship as data. Each grants, per action, a scope over every object type ("*").

Admins refine them per object type in the role editor; this migration only
creates the roles that do not exist yet.
"""

from django.db import migrations


def grants(view, create, edit, delete, export, import_, merge):
    return {
        "*": {
            "view": view,
            "create": create,
            "edit": edit,
            "delete": delete,
            "export": export,
            "import": import_,
            "merge": merge,
        }
    }


DEFAULT_ROLES = [
    ("admin", "Admin", "Everything, including users, teams, roles and settings.", True,
     grants("all", "all", "all", "all", "all", "all", "all")),
    ("sales-manager", "Sales manager", "Sees every record; edits and reassigns the team's.", False,
     grants("all", "all", "team", "team", "all", "all", "team")),
    ("sales-rep", "Sales rep", "Works the team's records; edits and deletes own.", False,
     grants("team", "all", "own", "own", "own", "none", "own")),
    ("marketer", "Marketer", "Sees every record for audiences; edits own.", False,
     grants("all", "all", "own", "own", "all", "all", "none")),
    ("support-agent", "Support agent", "Sees every customer; edits own records.", False,
     grants("all", "all", "own", "none", "none", "none", "none")),
    ("read-only", "Read-only", "Sees every record and changes nothing.", False,
     grants("all", "none", "none", "none", "none", "none", "none")),
]


def create_roles(apps, schema_editor):
    Role = apps.get_model("accounts", "Role")
    for slug, name, description, is_admin, permissions in DEFAULT_ROLES:
        Role.objects.get_or_create(
            slug=slug,
            defaults={
                "name": name,
                "description": description,
                "is_admin": is_admin,
                "permissions": permissions,
                "is_system": True,
            },
        )


class Migration(migrations.Migration):
    dependencies = [("accounts", "0001_initial")]

    operations = [migrations.RunPython(create_roles, migrations.RunPython.noop)]
