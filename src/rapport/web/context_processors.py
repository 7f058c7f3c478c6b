from django.http import HttpRequest

from rapport.web import navigation as nav


def navigation(request: HttpRequest) -> dict:
    if not request.user.is_authenticated:
        return {}
    return {"navigation": nav.build(request)}
