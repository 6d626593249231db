# One entry point for checks, used by people and CI alike.
.PHONY: check test bench fmt

check:
	@unformatted=$$(gofmt -l $$(git ls-files '*.go')); \
	  if [ -n "$$unformatted" ]; then echo "gofmt needed:"; echo "$$unformatted"; exit 1; fi
	go vet ./...
	go tool staticcheck ./...

test:
	go test -race -timeout 20m ./...

bench:
	go run ./bench/armbench -duration 10s -connections 32
	go run ./bench/ingestbench -size 1024

fmt:
	gofmt -w $$(git ls-files '*.go')
