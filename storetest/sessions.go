package storetest

import (
	"context"
	"testing"
	"time"
)

// testEndedSessions: a signed-out session is ended for every reader of the
// store until its expiry; ending it twice is harmless; ending another
// forgets those past their expiry.
func testEndedSessions(t *testing.T, open Opener) {
	s := open(t)
	ctx := context.Background()
	now := time.Now()
	ended := func(id string) bool {
		t.Helper()
		got, err := s.SessionEnded(ctx, id)
		if err != nil {
			t.Fatalf("SessionEnded(%s): %v", id, err)
		}
		return got
	}
	if ended("a") {
		t.Fatal("a session nobody ended is ended")
	}
	for range 2 {
		if err := s.EndSession(ctx, "a", now.Add(time.Hour)); err != nil {
			t.Fatalf("EndSession(a): %v", err)
		}
	}
	if !ended("a") || ended("b") {
		t.Errorf("after ending a: a ended %v, b ended %v; want true, false", ended("a"), ended("b"))
	}
	// A session already past its expiry is forgotten when another ends:
	// its cookie is refused for its age anyway.
	if err := s.EndSession(ctx, "old", now.Add(-time.Minute)); err != nil {
		t.Fatal(err)
	}
	if err := s.EndSession(ctx, "b", now.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if ended("old") || !ended("a") || !ended("b") {
		t.Errorf("after ending b: old %v, a %v, b %v; want false, true, true", ended("old"), ended("a"), ended("b"))
	}
}
