from django import template

from logistics.views import mask_name

register = template.Library()
register.filter("masked_name", mask_name)
