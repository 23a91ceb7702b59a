from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [("bags", "0002_postgres_indexes")]

    operations = [
        migrations.AddIndex(
            model_name='bag',
            index=models.Index(condition=models.Q(('kind', 'parent')), fields=['-created_at'], name='bag_parent_created'),
        ),
    ]
