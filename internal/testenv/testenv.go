// Package testenv decides what a test does when an external service it
// needs is missing: skip on a developer's machine, fail in CI.
package testenv

import (
	"os"
	"testing"
)

// Required reports whether missing services are failures: CI sets
// GALLEON_REQUIRE_SERVICES=1.
func Required() bool { return os.Getenv("GALLEON_REQUIRE_SERVICES") != "" }

// RequireService fails or skips t when err says a service is unavailable.
func RequireService(t testing.TB, name string, err error) {
	t.Helper()
	if err == nil {
		return
	}
	if Required() {
		t.Fatalf("%s is required (GALLEON_REQUIRE_SERVICES is set) but unavailable: %v", name, err)
	}
	t.Skipf("%s unavailable: %v (set GALLEON_REQUIRE_SERVICES=1 to make this a failure)", name, err)
}
