FROM rust:1.95-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release --bin quarry

FROM debian:bookworm-slim
COPY --from=build /src/target/release/quarry /usr/local/bin/quarry
WORKDIR /app
ENTRYPOINT ["quarry"]
CMD ["demo", "tour"]
