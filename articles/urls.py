"""URLs of the archive's pages and JSON API.

Article URLs are permanent (date + slug, or slug alone while undated); `articles/<id>/` is a
stable alias that redirects to them. The API has no trailing slashes, like most JSON APIs.
"""

from django.contrib.sitemaps import views as sitemap_views
from django.urls import path, re_path

from articles import api, export_views, feeds, sitemaps, trends_views, views

app_name = "articles"

urlpatterns = [
    path("", views.home, name="home"),
    path("search/", views.search_page, name="search"),
    path("search/help/", views.SearchHelpView.as_view(), name="search_help"),
    path("search/feed/", feeds.SearchFeed(), name="search_feed"),
    re_path(
        r"^search/export\.(?P<fmt>csv|jsonl)$", export_views.search_export, name="search_export"
    ),
    path("trends/", trends_views.trends_page, name="trends"),
    path("trends/export.csv", trends_views.trends_export, name="trends_export"),
    path("feed/", feeds.LatestFeed(), name="feed"),
    path(
        "articles/<int:year>/<int:month>/<int:day>/<slug:slug>/",
        views.article_detail,
        name="article",
    ),
    path("articles/undated/<slug:slug>/", views.article_undated, name="article_undated"),
    path("articles/<int:pk>/", views.article_by_id, name="article_by_id"),
    path("sources/", views.SourceListView.as_view(), name="sources"),
    path("sources/<slug:slug>/", views.SourceDetailView.as_view(), name="source"),
    path("sources/<slug:slug>/feed/", feeds.SourceFeed(), name="source_feed"),
    path("sections/", views.SectionListView.as_view(), name="sections"),
    path("sections/<slug:slug>/", views.SectionDetailView.as_view(), name="section"),
    path("sections/<slug:slug>/feed/", feeds.SectionFeed(), name="section_feed"),
    path("archive/", views.ArchiveIndex.as_view(), name="archive"),
    path("archive/<int:year>/", views.ArchiveYear.as_view(), name="archive_year"),
    path("archive/<int:year>/<int:month>/", views.ArchiveMonth.as_view(), name="archive_month"),
    path(
        "archive/<int:year>/<int:month>/<int:day>/",
        views.ArchiveDay.as_view(),
        name="archive_day",
    ),
    path("api/search", api.search_api, name="api_search"),
    path("api/articles/<int:pk>", api.article_api, name="api_article"),
    path("api/trends", trends_views.trends_api, name="api_trends"),
    path("opensearch.xml", views.opensearch, name="opensearch"),
    path("robots.txt", sitemaps.robots_txt, name="robots"),
    path(
        "sitemap.xml",
        sitemap_views.index,
        {"sitemaps": sitemaps.SITEMAPS, "sitemap_url_name": "articles:sitemap_section"},
        name="sitemap",
    ),
    path(
        "sitemap-<section>.xml",
        sitemap_views.sitemap,
        {"sitemaps": sitemaps.SITEMAPS},
        name="sitemap_section",
    ),
]
