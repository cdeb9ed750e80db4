from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "fleetadmin.accounts"
    label = "accounts"
    verbose_name = "Accounts"

    def ready(self) -> None:
        from django.contrib.auth.signals import user_logged_in

        from fleetadmin.accounts.sessions import on_sign_in

        # Like Django's own update_last_login: the "Your sessions" row of a new sign-in.
        user_logged_in.connect(on_sign_in, dispatch_uid="fleetadmin.accounts.sessions.on_sign_in")
