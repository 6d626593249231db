package chunkstore_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/galleon-project/galleon/chunkstore"
)

// The sha256 of "abc" (FIPS 180-2, appendix B.1).
const abc = "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"

func TestParseDigest(t *testing.T) {
	tests := []struct {
		in string
		ok bool
	}{
		{abc, true},
		{strings.ToUpper(abc), false},
		{"sha256:BA7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", false},
		{strings.TrimPrefix(abc, "sha256:"), false},
		{"sha512:" + strings.TrimPrefix(abc, "sha256:"), false},
		{abc[:len(abc)-1], false},
		{abc + "0", false},
		{abc[:len(abc)-1] + "g", false},
		{"", false},
	}
	for _, tt := range tests {
		d, err := chunkstore.ParseDigest(tt.in)
		if (err == nil) != tt.ok {
			t.Errorf("ParseDigest(%q) error = %v, want ok = %v", tt.in, err, tt.ok)
			continue
		}
		if tt.ok && d.String() != tt.in {
			t.Errorf("ParseDigest(%q).String() = %q", tt.in, d.String())
		}
	}
}

func TestDigest(t *testing.T) {
	d := chunkstore.Sum([]byte("abc"))
	if got := d.String(); got != abc {
		t.Fatalf("Sum(abc) = %s, want %s", got, abc)
	}
	if d.IsZero() || !(chunkstore.Digest{}).IsZero() {
		t.Error("IsZero is wrong")
	}
	if chunkstore.Sum(nil).IsZero() {
		t.Error("the digest of empty content must not be the zero Digest")
	}

	t.Run("JSON", func(t *testing.T) {
		in := map[chunkstore.Digest]chunkstore.Digest{d: d}
		b, err := json.Marshal(in)
		if err != nil {
			t.Fatal(err)
		}
		if want := `{"` + abc + `":"` + abc + `"}`; string(b) != want {
			t.Fatalf("got %s, want %s", b, want)
		}
		var out map[chunkstore.Digest]chunkstore.Digest
		if err := json.Unmarshal(b, &out); err != nil {
			t.Fatal(err)
		}
		if out[d] != d {
			t.Fatalf("round trip: got %v", out)
		}
		if err := json.Unmarshal([]byte(`"sha256:00"`), &d); err == nil {
			t.Fatal("malformed digest unmarshalled without error")
		}
	})
}
