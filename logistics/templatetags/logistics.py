from django import template

from partners.phones import mask_name

register = template.Library()
register.filter("masked_name", mask_name)
