"""URLs of the archive's pages and JSON API (filled in by the web-pages work)."""

app_name = "articles"

urlpatterns: list = []
