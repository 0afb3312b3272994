from django.urls import path

from . import views

app_name = "residents"
urlpatterns = [
    path("staff/residents/", views.staff_search, name="staff_search"),
    path("staff/residents/move-in/", views.staff_move_in, name="staff_move_in"),
    path("staff/residents/<int:pk>/", views.staff_detail, name="staff_detail"),
    path(
        "staff/residents/<int:pk>/mynumber/",
        views.staff_reveal_mynumber,
        name="staff_reveal_mynumber",
    ),
    path("staff/residents/<int:pk>/move-out/", views.staff_move_out, name="staff_move_out"),
    path("staff/residents/<int:pk>/relocation/", views.staff_relocation, name="staff_relocation"),
    path("staff/residents/<int:pk>/birth/", views.staff_birth, name="staff_birth"),
    path("staff/residents/<int:pk>/death/", views.staff_death, name="staff_death"),
    path("staff/residents/<int:pk>/head/", views.staff_change_head, name="staff_change_head"),
    path("staff/residents/<int:pk>/correct/", views.staff_correct, name="staff_correct"),
    path(
        "staff/residents/<int:pk>/activation/",
        views.staff_issue_activation,
        name="staff_issue_activation",
    ),
    path("my/link/", views.my_link, name="my_link"),
    path("my/info/", views.my_info, name="my_info"),
]
