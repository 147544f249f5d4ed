# lagpilot operator image: multi-stage, Debian 12 (bookworm) slim, runs as a non-root user.
#
#   docker build -t lagpilot:0.1.0 .
#   helm install lagpilot helm/lagpilot --set image.repository=<registry>/lagpilot
#
# Not built in this repository's CI (no container runtime there); the build stage runs the same
# CMake build as scripts/build, with only the operator binary as target (no demo, no tests).

# ---- build ------------------------------------------------------------------------------------
FROM debian:bookworm-slim AS build
ARG DEBIAN_FRONTEND=noninteractive
# The project's build dependencies (scripts/install-deps); GoogleTest is found by CMakeLists.txt
# even when tests are not built.
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      build-essential cmake ninja-build pkg-config ca-certificates \
      libcpprest-dev libyaml-cpp-dev prometheus-cpp-dev libspdlog-dev librdkafka-dev \
      nlohmann-json3-dev libssl-dev libgtest-dev libgmock-dev libglpk-dev libhiredis-dev librabbitmq-dev libnats-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
# RelWithDebInfo as in scripts/build (GCC 12 at -O3, i.e. Release, stops on a false -Wrestrict
# warning under -Werror); the debug info is stripped below.
RUN cmake -S . -B /build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DBUILD_TESTING=OFF \
 && cmake --build /build --target lagpilot \
 && strip --strip-unneeded -o /lagpilot /build/operator/lagpilot \
 && /lagpilot version

# ---- runtime ----------------------------------------------------------------------------------
FROM debian:bookworm-slim
ARG DEBIAN_FRONTEND=noninteractive
# The shared libraries the binary links (the runtime packages of the -dev packages above).
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      ca-certificates libcpprest2.10 libyaml-cpp0.7 libprometheus-cpp-core1.0 \
      libprometheus-cpp-pull1.0 libspdlog1.10 libfmt9 librdkafka1 libssl3 libglpk40 libhiredis0.14 librabbitmq4 libnats3.4 \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 65532 lagpilot \
 && useradd --system --uid 65532 --gid 65532 --home-dir /nonexistent --no-create-home \
      --shell /usr/sbin/nologin lagpilot
COPY --from=build /lagpilot /usr/local/bin/lagpilot
# Numeric, so that Kubernetes' runAsNonRoot can verify it.
USER 65532:65532
# 8080: /metrics, 8081: /healthz and /readyz.
EXPOSE 8080 8081
ENTRYPOINT ["/usr/local/bin/lagpilot"]
CMD ["run"]
