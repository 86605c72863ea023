# neuropacs-agent container image: Debian 12, multi-stage, s6-svscan as PID 1.
# Docker cannot run on the project's build machines; tests/e2e/98-install.t
# checks the steps of this file (make install into a fresh root) instead.
#
#   docker build -t neuropacs-agent .
#   docker run -it --name neuropacs-app --restart always --cpu-shares=2048 \
#     -p 3001:3001 -p 104:104 \
#     -v neuropacs-config:/data -v neuropacs-agent-data:/usr/src/app/data \
#     neuropacs-agent

FROM debian:12 AS build
WORKDIR /src
COPY deps/ deps/
RUN apt-get update && apt-get install -y --no-install-recommends $(grep -hv '^#' deps/build.txt) \
    && rm -rf /var/lib/apt/lists/*
COPY . .
# make deps DEPS=build adds what only the build needs past deps/build.txt:
# npm ci of the vendored web assets (Swagger UI, served at /api-docs). make
# itself installs nothing. The image is refused without Swagger UI.
RUN make deps DEPS=build && make all && make install PREFIX=/usr/local DESTDIR=/out && \
    test -f /out/usr/local/share/neuropacs/vendor/node_modules/swagger-ui-dist/swagger-ui-bundle.js

# curl for the HEALTHCHECK, libcap2-bin for setcap below.
FROM debian:12
COPY deps/run.txt /tmp/run.txt
RUN apt-get update && apt-get install -y --no-install-recommends $(grep -v '^#' /tmp/run.txt) \
       libgdcm3.0 libarchive13 libcurl4 libjansson4 libsqlite3-0 libcivetweb1 libxmlsec1-openssl \
       libcairo2 python3-pydicom python3-numpy \
       curl libcap2-bin \
    && rm -rf /var/lib/apt/lists/* /tmp/run.txt \
    && useradd --system --home-dir /data --shell /usr/sbin/nologin neuropacs \
    && mkdir -p /data /usr/src/app/data /usr/src/app/processing \
    && chown neuropacs:neuropacs /data /usr/src/app/data /usr/src/app/processing
COPY --from=build /out/ /
# /data holds settings, secrets, the index and logs; the spool lives on the
# data volume (it can be large).
ENV NP_HOME=/data
EXPOSE 3001 104
VOLUME ["/data", "/usr/src/app/data"]
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s CMD curl -fsS http://127.0.0.1:3001/health || exit 1
# Binding port 104 needs this capability when running as the neuropacs user.
RUN setcap cap_net_bind_service=+ep /usr/local/sbin/np-recv || true
USER neuropacs
# First start: settings with container defaults (DICOM on 104) and a generated
# service password printed once to the container log; then s6 runs everything.
ENTRYPOINT ["/bin/sh", "-c", "np-init --first-run --non-interactive --container && exec np-svscan"]
