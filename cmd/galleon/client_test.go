package main

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
)

func TestErrorFromBody(t *testing.T) {
	tests := []struct {
		name, body, code, message string
	}{
		{"ARM", `{"error":{"code":"InvalidParameter","message":"The upload size is invalid."}}`, "InvalidParameter", "The upload size is invalid."},
		{"Storage", `<?xml version="1.0" encoding="UTF-8"?>` + "\n" + `<Error><Code>InvalidPageRange</Code><Message>The page range 0-1 is not aligned.` + "\nRequestId:abc</Message></Error>",
			"InvalidPageRange", "The page range 0-1 is not aligned."},
		{"Neither", `not an error body`, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, msg := errorFromBody([]byte(tt.body))
			if code != tt.code || msg != tt.message {
				t.Errorf("got %q, %q; want %q, %q", code, msg, tt.code, tt.message)
			}
		})
	}
}

func TestServerError(t *testing.T) {
	respErr := func(status int, header http.Header, body string) error {
		req, _ := http.NewRequest(http.MethodPut, "https://galleon.test/x", nil)
		if header == nil {
			header = http.Header{}
		}
		return runtime.NewResponseError(&http.Response{StatusCode: status, Status: http.StatusText(status), Header: header,
			Body: io.NopCloser(strings.NewReader(body)), Request: req})
	}
	arm := respErr(404, nil, `{"error":{"code":"ResourceGroupNotFound","message":"Resource group 'x' could not be found."}}`)
	storage := respErr(416, http.Header{"X-Ms-Error-Code": {"InvalidPageRange"}},
		"<?xml version=\"1.0\"?><Error><Code>InvalidPageRange</Code><Message>Not aligned.\nRequestId:1</Message></Error>")
	plain := errors.New("connection refused")
	tests := []struct {
		name string
		err  error
		want string
	}{
		{"ARM", arm, "ResourceGroupNotFound: Resource group 'x' could not be found."},
		{"Wrapped", fmt.Errorf("creating snapshot rg/s: %w", arm), "creating snapshot rg/s: ResourceGroupNotFound: Resource group 'x' could not be found."},
		{"Storage", storage, "InvalidPageRange: Not aligned."},
		{"Twice", fmt.Errorf("outer: %w", serverError(fmt.Errorf("inner: %w", storage))), "outer: inner: InvalidPageRange: Not aligned."},
		{"NoBody", respErr(503, nil, ""), "HTTP 503: Service Unavailable"},
		{"NotAServerError", plain, "connection refused"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := serverError(tt.err)
			if got.Error() != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
			if !errors.Is(got, tt.err) {
				t.Error("the original error is lost")
			}
		})
	}
}
