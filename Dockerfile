FROM python:3.11-slim
WORKDIR /app
COPY requirements.txt .
RUN pip install --no-cache-dir -r requirements.txt
COPY . .
RUN DJANGO_SECRET_KEY=build python manage.py collectstatic --noinput
# As docker-compose runs it: 4 sync workers for 2 cores (see README, API performance).
CMD ["gunicorn", "--bind", "0.0.0.0:8000", "--workers", "4", "driftdetector.wsgi:application"]
