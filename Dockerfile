FROM python:3.11-slim
WORKDIR /app
COPY requirements.txt .
RUN pip install --no-cache-dir -r requirements.txt
COPY . .
RUN DJANGO_SECRET_KEY=build python manage.py collectstatic --noinput
CMD ["gunicorn", "-c", "deploy/gunicorn.conf.py", "driftdetector.wsgi:application"]
