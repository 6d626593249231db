package graph

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestDecode(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name, body string
		status     int // 0: decoded
	}{
		{"OK", `{"displayName":"Ops"}`, 0},
		{"ErrEmpty", ` `, http.StatusBadRequest},
		{"ErrMalformed", `{"displayName":`, http.StatusBadRequest},
		{"ErrInvalidUTF8", "{\"displayName\":\"O\xffps\"}", http.StatusBadRequest},
		{"ErrTooLarge", `{"displayName":"` + strings.Repeat("x", maxBody) + `"}`, http.StatusRequestEntityTooLarge},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var v struct {
				DisplayName string `json:"displayName"`
			}
			err := decode(httptest.NewRequest(http.MethodPost, "/v1.0/groups", strings.NewReader(tt.body)), &v)
			status := 0
			if err != nil {
				e, ok := err.(*Error)
				if !ok {
					t.Fatalf("decode = %v, not a Graph error", err)
				}
				status = e.Status
			}
			if status != tt.status {
				t.Errorf("decode = %v, want status %d", err, tt.status)
			}
		})
	}
}
