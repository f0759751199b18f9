from django.apps import AppConfig


class ArticlesConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "articles"
    verbose_name = "Archive"

    def ready(self) -> None:
        # Keeps the search index in step with every save and delete, wherever it happens.
        # Groups re-sent and reprinted stories on every save and delete.
        from . import (
            signals,  # noqa: F401
            threads,
        )

        threads.connect()
