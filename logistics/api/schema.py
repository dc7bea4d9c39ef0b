"""How the logistics key appears in the OpenAPI schema."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension


class LogisticsKeyScheme(OpenApiAuthenticationExtension):
    target_class = "logistics.api.authentication.LogisticsKeyAuthentication"
    name = "logisticsKey"

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": "A logistics client's key: `Authorization: Token <key>` "
            "(`python manage.py create_logistics_client`).",
        }
