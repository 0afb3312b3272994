from django.urls import path

from . import views

app_name = "payments_sandbox"
urlpatterns = [
    path("pay/sandbox/<str:token>/", views.checkout, name="checkout"),
]
