from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [("billing", "0001_initial")]

    operations = [
        migrations.AddIndex(
            model_name='billbag',
            index=models.Index(fields=['created_at'], name='billbag_created'),
        ),
    ]
