from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


class CityhallConfig(AppConfig):
    name = "cityhall"
    verbose_name = _("市役所の共通基盤")

    def ready(self):
        from .accounts import sync_site
        from .authcache import connect_signals
        from .roles import sync_role_permissions

        # Permissions exist only after every app migrated, so roles get theirs then.
        post_migrate.connect(sync_role_permissions, dispatch_uid="machiba_sync_roles")
        post_migrate.connect(sync_site, sender=self, dispatch_uid="machiba_sync_site")
        connect_signals()
