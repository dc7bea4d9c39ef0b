"""The names a county types in Chinese (categories, produce kinds and their grades), shown in the active language.

One ``name_en`` column beside the Chinese name: two languages only, so a column per language and a fallback
rule are all it takes (django-modeltranslation would add a column per language, patch the model's fields
and need registering; not worth it for one other language).  Blank English falls back to the Chinese.
"""

from django.utils.translation import get_language


def english_active() -> bool:
    return (get_language() or "").split("-")[0] == "en"


def in_language(name: str, name_en: str) -> str:
    """``name_en`` when English is active and it is kept, else the Chinese ``name``."""
    if name_en and english_active():
        return name_en
    return name


def grade_in_language(grade: str, grades: list[str], grades_en: list[str]) -> str:
    """A grade (one of ``grades``, in Chinese) by the English list at the same place, if English is active and
    that place is kept; the grade as stored otherwise (a grade no longer in the kind's list as well)."""
    if not english_active() or grade not in grades:
        return grade
    index = grades.index(grade)
    return grades_en[index] if index < len(grades_en) and grades_en[index] else grade
