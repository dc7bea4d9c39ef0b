from django.conf import settings
from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from partners.forms import AdminLoginForm, LoginForm

from .health import healthz
from .logout import LogoutView

admin.site.site_header = settings.ADMIN_SITE_HEADER
admin.site.site_title = settings.ADMIN_SITE_HEADER
admin.site.login_form = AdminLoginForm

urlpatterns = [
    path(
        "accounts/login/",
        auth_views.LoginView.as_view(redirect_authenticated_user=True, authentication_form=LoginForm),
        name="login",
    ),
    path("accounts/logout/", LogoutView.as_view(), name="logout"),  # GET: a page with the button; POST logs out
    path("", include("accounts.urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin.site.urls),
    path("healthz/", healthz, name="healthz"),
    path("api/v1/", include("orders.api.urls")),
    path("api/v1/", include("logistics.api.urls")),
    # /api/v1/installations/ (the logistics API's technicians) is in installations.urls, below.
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    # The split view serves its start-up script from a URL of its own (?script) instead of inline,
    # and our template moves its inline style to a static file: the docs need no CSP exception.
    path(
        "api/docs/",
        SpectacularSwaggerSplitView.as_view(url_name="api-schema", template_name="ruralshop/swagger_ui.html"),
        name="api-docs",
    ),
    path("", include("county.urls")),
    path("", include("orders.urls")),
    path("", include("installations.urls")),
    path("", include("produce.urls")),
    path("", include("marketing.urls")),
    path("", include("cashbook.urls")),
    path("", include("integrity.urls")),
    path("", include("notifications.urls")),
    path("", include("logistics.urls")),
    path("", include("partners.urls")),
]
