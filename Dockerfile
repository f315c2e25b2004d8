# syntax=docker/dockerfile:1
# xinit-go: PID 1 for a GLX app on a headless GPU server.
#
#   docker build -t xinit-go .
#   docker run --gpus all -e NVIDIA_DRIVER_CAPABILITIES=all -e VNC_PASSWORD=... -p 5900:5900 -p 6080:6080 xinit-go
#   (then http://localhost:6080/ in a browser: noVNC, served and bridged by xinit-go)
#
# The runtime base is Debian 12, which CI reproduces with debootstrap. To switch it,
# set BASE (e.g. --build-arg BASE=ubuntu:24.04); deploy/image/packages.sh must then
# still find its packages there.
# NVIDIA_DRIVER_VERSION (e.g. 580.159.04) installs NVIDIA's user-space driver with its
# X driver and GLX server module, for hosts whose container runtime does not mount
# them; it must equal the host's driver version. Without it the image relies on the
# runtime's mounts, or on the xvfb backend with NVIDIA's GLX.
ARG BASE=debian:12-slim
ARG GO_IMAGE=golang:1.26-bookworm

FROM ${GO_IMAGE} AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/root/.cache/go-build go mod download
COPY . .
ARG VERSION=devel
# Go's build cache survives between builds (docker and podman keep the mount).
RUN --mount=type=cache,target=/root/.cache/go-build \
    CGO_ENABLED=1 CGO_CFLAGS="-O2 -Wno-deprecated-declarations" \
    go build -trimpath -ldflags "-s -w -X main.version=${VERSION}" -o /out/xinit-go ./cmd/xinit-go
# The present-by-copy Vulkan layer: its library in /usr/lib/xinit-go, its manifest
# where the Vulkan loader looks for explicit layers.
RUN apt-get update -qq && apt-get install -y -qq --no-install-recommends \
      make libvulkan-dev libxcb1-dev libxcb-shm0-dev libx11-dev libx11-xcb-dev >/dev/null && \
    make -C vklayer install DESTDIR=/out/root PREFIX=/usr

FROM ${BASE} AS runtime
COPY deploy/image/packages.sh /usr/local/lib/xinit-go/packages.sh
RUN sh /usr/local/lib/xinit-go/packages.sh
ARG NVIDIA_DRIVER_VERSION=""
COPY deploy/image/nvidia-driver.sh /usr/local/lib/xinit-go/nvidia-driver.sh
RUN if [ -n "$NVIDIA_DRIVER_VERSION" ]; then sh /usr/local/lib/xinit-go/nvidia-driver.sh "$NVIDIA_DRIVER_VERSION"; fi
COPY --from=build /out/xinit-go /usr/local/bin/xinit-go
COPY --from=build /out/root/ /
COPY LICENSE THIRD_PARTY_NOTICES /usr/share/doc/xinit-go/
ARG VERSION=devel
ARG REVISION=""
LABEL org.opencontainers.image.title="xinit-go" \
      org.opencontainers.image.description="PID 1 for a GL or Vulkan app on a headless GPU server: X, VNC, a browser view, supervision, exit codes" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.source="https://github.com/xinit-go/xinit-go" \
      org.opencontainers.image.licenses="Apache-2.0"
ENV NVIDIA_DRIVER_CAPABILITIES=graphics,display,utility,compute \
    NVIDIA_VISIBLE_DEVICES=all \
    XINIT_RUNTIME_DIR=/run/xinit-go \
    XINIT_HEALTH_ADDR=:9810
EXPOSE 5900 6080 9810
HEALTHCHECK --interval=10s --timeout=5s --start-period=30s --retries=3 CMD ["/usr/local/bin/xinit-go", "health"]
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/local/bin/xinit-go"]
CMD ["glxgears", "-info"]
