# syntax=docker/dockerfile:1
# The portal image: the static portal binary on Alpine, run as a numeric non-root user.
#
#   docker build -t portal:dev .
#
# Alpine rather than distroless/static because the Kubernetes provisioner's init container
# runs `cp /usr/local/bin/portal /opt/portal/portal` in this image to hand the binary to
# each session pod (see kube.Provisioner.pod); distroless has no cp.

# The dashboard's browser assets (xterm.js, the terminal's font) come from npm, as with
# `make assets`; the Go build embeds them.
FROM node:24-bookworm AS assets
WORKDIR /src
COPY package.json package-lock.json Makefile ./
COPY dashboard/assets/dist/.keep dashboard/assets/dist/.keep
RUN make assets

FROM golang:1.26-trixie AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
COPY --from=assets /src/dashboard/assets/dist/ dashboard/assets/dist/
# Static: the SQLite driver and everything else is pure Go. The small dashboard and
# terminals programs sit beside the portal, where it looks for them when it runs sessions
# as local processes (--provisioner local); session pods run `portal dashboard`.
RUN CGO_ENABLED=0 go build -trimpath -buildvcs=false -ldflags "-s -w" -o /out/ ./cmd/portal ./cmd/portal-dashboard ./cmd/portal-terminals

FROM alpine:3.22
COPY --from=build /out/portal /out/portal-dashboard /out/portal-terminals /usr/local/bin/
# The data folder's parent; deploy/ mounts a volume here.
RUN mkdir -p /var/lib/portal && chown 10001:10001 /var/lib/portal
USER 10001:10001
ENV PORTAL_ADDR=:8080 \
    PORTAL_DATA_DIR=/var/lib/portal/data
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/portal"]
CMD ["serve"]
