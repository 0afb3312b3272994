# Production-like image for web, worker and beat (see docker-compose.yml).
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 \
    MACHIBA_VAR_DIR=/srv/machiba/var

RUN apt-get update \
    && apt-get install -y --no-install-recommends \
        gdal-bin libgdal32 libgeos-c1v5 libproj25 binutils \
        libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-ipaexfont gettext \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /app
COPY pyproject.toml README.md ./
COPY cityhall cityhall
COPY residents residents
COPY procedures procedures
COPY payments payments
COPY gis gis
COPY counter counter
RUN pip install --no-cache-dir .
COPY . .
RUN DJANGO_SECRET_KEY=build-only DJANGO_DEBUG=false MACHIBA_MYNUMBER_KEYS=build-only \
        python manage.py compilemessages --ignore='var' -v 0 \
    && DJANGO_SECRET_KEY=build-only DJANGO_DEBUG=false MACHIBA_MYNUMBER_KEYS=build-only \
        python manage.py collectstatic --noinput -v 0 \
    && useradd --system --home /srv/machiba machiba \
    && mkdir -p /srv/machiba/var && chown -R machiba /srv/machiba
USER machiba
EXPOSE 8000
# Worker kind and count: cityhall/ops/gunicorn.conf.py (measured, bench/README.md "Pages").
ENV GUNICORN_BIND=0.0.0.0:8000 GUNICORN_CONTROL_SOCKET=/tmp/gunicorn.ctl
CMD ["gunicorn", "cityhall.wsgi:application", "-c", "cityhall/ops/gunicorn.conf.py"]
