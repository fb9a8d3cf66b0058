# Tandem in a container: one static binary (modernc.org/sqlite is pure Go,
# so no cgo), run as an unprivileged user.
FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o /out/tandem ./cmd/tandem \
 && mkdir -p /out/data

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/tandem /usr/local/bin/tandem
# The SQLite store's directory, owned by nonroot (65532): a volume mounted
# here starts with this ownership.
COPY --from=build --chown=65532:65532 /out/data /var/lib/tandem
USER nonroot
EXPOSE 4455
ENTRYPOINT ["/usr/local/bin/tandem"]
CMD ["serve"]
