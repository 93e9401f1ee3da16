"""
The URLs of the test Django project.
"""

from django.urls import path

from djangoproj import views

urlpatterns = [
    path("", views.index),
    path("hello/<str:name>", views.hello, name="hello"),
    path("where", views.where),
    path("form", views.form),
    path("upload", views.upload),
    path("stream", views.stream),
    path("download", views.download),
    path("boom", views.boom),
    path("slashed/", views.hello, {"name": "slashed"}),
]

handler404 = "djangoproj.views.notFound"
handler500 = "djangoproj.views.serverError"
