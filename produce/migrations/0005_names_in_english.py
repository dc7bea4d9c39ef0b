from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('produce', '0004_lot_no_room'),
    ]

    operations = [
        migrations.AddField(
            model_name='producekind',
            name='grades_en',
            field=models.CharField(blank=True, default='', help_text='Comma-separated, in the order of the grades, such as Grade 1,Grade 2. Blank: the Chinese.', max_length=100, verbose_name='grades in English'),
        ),
        migrations.AddField(
            model_name='producekind',
            name='name_en',
            field=models.CharField(blank=True, default='', help_text='Blank: the Chinese name in English too.', max_length=60, verbose_name='English name'),
        ),
    ]
