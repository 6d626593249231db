package chunkstore_test

import (
	"bytes"
	"context"
	"path/filepath"
	"testing"

	"github.com/galleon-project/galleon/chunkstore"
)

// TestOpenStore opens buckets by URL, as region configuration does.
func TestOpenStore(t *testing.T) {
	dir := filepath.ToSlash(t.TempDir())
	for _, url := range []string{
		"mem://",
		"file://" + dir + "?no_tmp_dir=true&metadata=skip",
		"file://" + dir, // the same folder, with fileblob's defaults
	} {
		t.Run(url, func(t *testing.T) {
			ctx := context.Background()
			s, err := chunkstore.OpenStore(ctx, url)
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			data := randBytes(50, 300_000)
			m, _ := MustIngest(t, s, "img", data)
			if got := MustReadAll(t, s, m); !bytes.Equal(got, data) {
				t.Fatal("read back different bytes")
			}
		})
	}
	if _, err := chunkstore.OpenStore(context.Background(), "nope://x"); err == nil {
		t.Fatal("an unknown scheme opened")
	}
}
