package chunkstore

import (
	"strings"
	"testing"
)

func TestValidateID(t *testing.T) {
	tests := []struct {
		id string
		ok bool
	}{
		{"a", true},
		{"0", true},
		{"0f8fad5b-d9cb-469f-a165-70867728950e.eastus.1", true},
		{"disk_1", true},
		{strings.Repeat("a", maxIDLen), true},
		{strings.Repeat("a", maxIDLen+1), false},
		{"", false},
		{".", false},
		{"..", false},
		{".hidden", false},
		{"-flag", false},
		{"_x", false},
		{"a/b", false},
		{"../x", false},
		{"a\\b", false},
		{"Upper", false},
		{"a b", false},
		{"a%2fb", false},
		{"é", false},
		{"a\x00", false},
	}
	for _, tt := range tests {
		if err := ValidateID(tt.id); (err == nil) != tt.ok {
			t.Errorf("ValidateID(%q) = %v, want ok = %v", tt.id, err, tt.ok)
		}
	}
}

func TestChunkKey(t *testing.T) {
	d := Sum([]byte("abc"))
	key := chunkKey(d)
	if want := "chunks/sha256/ba/" + d.Hex(); key != want {
		t.Fatalf("chunkKey = %q, want %q", key, want)
	}
	if got, ok := parseChunkKey(key); !ok || got != d {
		t.Fatalf("parseChunkKey(%q) = %v, %v", key, got, ok)
	}
	for _, bad := range []string{
		key + ".1842a3b4c5d6e7f8.tmp", // fileblob's temporary file
		key + ".attrs",
		"chunks/sha256/00/" + d.Hex(), // in the wrong folder
		"chunks/sha256/" + d.Hex(),
		"chunks/sha256/BA/" + strings.ToUpper(d.Hex()),
		"manifests/x.json",
	} {
		if _, ok := parseChunkKey(bad); ok {
			t.Errorf("parseChunkKey(%q) accepted it", bad)
		}
	}
}

func TestManifestKey(t *testing.T) {
	key, err := manifestKey("v1.eastus")
	if err != nil || key != "manifests/v1.eastus.json" {
		t.Fatalf("manifestKey = %q, %v", key, err)
	}
	if id, ok := parseManifestKey(key); !ok || id != "v1.eastus" {
		t.Fatalf("parseManifestKey(%q) = %q, %v", key, id, ok)
	}
	if _, err := manifestKey("../chunks/x"); err == nil {
		t.Fatal("manifestKey accepted a path")
	}
	for _, bad := range []string{"manifests/x.json.123.tmp", "manifests/.json", "manifests/a/b.json", "chunks/x.json"} {
		if _, ok := parseManifestKey(bad); ok {
			t.Errorf("parseManifestKey(%q) accepted it", bad)
		}
	}
}

func TestIsTempKey(t *testing.T) {
	tests := []struct {
		key  string
		want bool
	}{
		{"chunks/sha256/ab/ab12.18a3f0c2d4e5f601.tmp", true},
		{"manifests/disk-1.json.18a3f0c2d4e5f601.tmp", true},
		{"locks/writer/abc.1f.tmp", true},
		{"x.tmp", false},                // no hex stamp before .tmp
		{"manifests/a.json.tmp", false}, // "json" is not a hex stamp
		{"a.18A3.tmp", false},           // fileblob writes lowercase hex
		{"a.18a3.tmpx", false},
		{"a..tmp", false},
		{"chunks/sha256/ab/" + strings.Repeat("ab", 32), false},
	}
	for _, tt := range tests {
		if got := isTempKey(tt.key); got != tt.want {
			t.Errorf("isTempKey(%q) = %v, want %v", tt.key, got, tt.want)
		}
	}
}

func TestQuarantineKey(t *testing.T) {
	d := Sum([]byte("x"))
	got, ok := parseQuarantineKey(quarantineKey(d))
	if !ok || got != d {
		t.Fatalf("parseQuarantineKey(quarantineKey(%s)) = %s, %v", d, got, ok)
	}
	if _, ok := parseQuarantineKey(chunkKey(d)); ok {
		t.Error("a chunk key parsed as a quarantine key")
	}
}
