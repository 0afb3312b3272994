from django.urls import path

from . import views

app_name = "identity"
urlpatterns = [
    path("identity/sign/callback/", views.sign_callback, name="sign_callback"),
    path("my/link/card/", views.card_link, name="card_link"),
]
