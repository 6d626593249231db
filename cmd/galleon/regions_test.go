package main

import (
	"context"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/galleon-project/galleon"
)

func TestRegionBucketURLs(t *testing.T) {
	regions := galleon.Regions{{Name: "eastus"}, {Name: "westus2"}}
	got, err := regionBucketURLs(regions, []string{"EastUS=azblob://a", "eastus=s3://b?region=us-east-1"}, "/data")
	if err != nil {
		t.Fatal(err)
	}
	want := map[string][]string{
		"eastus":  {"azblob://a", "s3://b?region=us-east-1"},
		"westus2": {"file:///data/regions/westus2?create_dir=1&dir_file_mode=0700&no_tmp_dir=1&metadata=skip"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
	for _, bad := range []string{"eastus", "=file:///x", "mars=file:///x", "eastus="} {
		if _, err := regionBucketURLs(regions, []string{bad}, "/data"); err == nil {
			t.Errorf("--region-bucket %q should be refused", bad)
		}
	}
}

func TestOpenRegionBuckets(t *testing.T) {
	dir := t.TempDir()
	urls, err := regionBucketURLs(galleon.Regions{{Name: "eastus"}}, []string{"eastus=mem://"}, dir)
	if err != nil {
		t.Fatal(err)
	}
	urls["eastus"] = append(urls["eastus"], "file://"+filepath.ToSlash(filepath.Join(dir, "second"))+"?create_dir=1&no_tmp_dir=1")
	buckets, err := openRegionBuckets(context.Background(), urls)
	if err != nil {
		t.Fatal(err)
	}
	defer closeRegionBuckets(buckets)
	if len(buckets["eastus"]) != 2 {
		t.Fatalf("opened %d buckets, want 2", len(buckets["eastus"]))
	}
	if err := buckets["eastus"][1].WriteAll(context.Background(), "k", []byte("v"), nil); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "second", "k")); err != nil {
		t.Errorf("the file bucket did not write under its folder: %v", err)
	}
	if _, err := openRegionBuckets(context.Background(), map[string][]string{"eastus": {"nosuch://x"}}); err == nil {
		t.Error("an unknown bucket scheme should fail")
	}
}
