"""A real Django settings module for the adapter tests; CACHES is replaced
per test with override_settings."""
from django.http import HttpResponse
from django.urls import path
from django.views.decorators.cache import cache_page

SECRET_KEY = "unicache-tests"
DEBUG = False
ALLOWED_HOSTS = ["testserver"]
USE_TZ = True
INSTALLED_APPS = []
MIDDLEWARE = []
ROOT_URLCONF = "django_settings"
CACHES = {"default": {"BACKEND": "unicache.contrib.django.UnicacheCache",
                      "LOCATION": "memory://"}}

calls = {"page": 0}


def counter_view(request):
    from django.core.cache import cache
    cache.add("hits", 0, None)
    return HttpResponse(str(cache.incr("hits")))


def _page(request):
    calls["page"] += 1
    return HttpResponse("page %d" % calls["page"])


def page_view(request):
    # cache_page binds caches["default"] when it decorates: decorate per
    # request, so that each test's CACHES (override_settings) is the one used.
    return cache_page(60)(_page)(request)


urlpatterns = [path("counter", counter_view), path("page", page_view)]
