# One image for web (gunicorn), worker and beat.
FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 RURALSHOP_VAR_DIR=/app/var
WORKDIR /app
COPY requirements.txt .
RUN pip install --no-cache-dir -r requirements.txt
COPY . .
# collectstatic needs settings, not a database or a real secret.
RUN SECRET_KEY=collectstatic-only python manage.py collectstatic --noinput -v0
RUN useradd --system --home /app ruralshop && mkdir -p /app/var/media && chown -R ruralshop /app/var
USER ruralshop
EXPOSE 8000
CMD ["gunicorn", "ruralshop.wsgi:application", "--bind", "0.0.0.0:8000", "--workers", "3", "--access-logfile", "-"]
