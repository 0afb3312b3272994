from django.urls import path

from . import views

urlpatterns = [
    path("jpki/login/", views.login, name="jpki_login"),
    path("jpki/login/callback/", views.callback, name="jpki_callback"),
]
