package main

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"path/filepath"
	"strings"

	"gocloud.dev/blob"
	_ "gocloud.dev/blob/azureblob" // azblob:// region buckets
	_ "gocloud.dev/blob/fileblob"  // file:// region buckets (the default)
	_ "gocloud.dev/blob/memblob"   // mem:// region buckets, for trials
	_ "gocloud.dev/blob/s3blob"    // s3:// region buckets

	"github.com/galleon-project/galleon"
)

// regionBucketURLs turns --region-bucket values ("eastus=azblob://images")
// into each region's bucket URLs, in the order given. A configured region
// without any gets one folder under the data folder; a bucket for a region
// that is not configured is an error.
func regionBucketURLs(regions galleon.Regions, values []string, dataDir string) (map[string][]string, error) {
	out := map[string][]string{}
	for _, v := range values {
		name, u, ok := strings.Cut(v, "=")
		region := galleon.NormalizeLocation(name)
		if !ok || region == "" || u == "" {
			return nil, fmt.Errorf("--region-bucket %q: want region=bucket-url", v)
		}
		if _, err := regions.Resolve(region, "region buckets"); err != nil {
			return nil, fmt.Errorf("--region-bucket %q: %s is not one of --regions %s", v, region, strings.Join(regions.Names(), ","))
		}
		if _, err := url.Parse(u); err != nil {
			return nil, fmt.Errorf("--region-bucket %q: %w", v, err)
		}
		out[region] = append(out[region], u)
	}
	for _, r := range regions {
		if len(out[r.Name]) == 0 {
			// no_tmp_dir keeps a blob's temporary file beside it, so the
			// rename that publishes it is atomic on every filesystem.
			out[r.Name] = []string{"file://" + filepath.ToSlash(filepath.Join(dataDir, "regions", r.Name)) +
				"?create_dir=1&dir_file_mode=0700&no_tmp_dir=1&metadata=skip"}
		}
	}
	return out, nil
}

// openRegionBuckets opens every region's buckets through gocloud.dev/blob.
func openRegionBuckets(ctx context.Context, urls map[string][]string) (map[string][]*blob.Bucket, error) {
	out := map[string][]*blob.Bucket{}
	for region, us := range urls {
		for _, u := range us {
			b, err := blob.OpenBucket(ctx, u)
			if err != nil {
				closeRegionBuckets(out)
				return nil, fmt.Errorf("region %s: opening bucket %s: %w", region, redactURL(u), err)
			}
			out[region] = append(out[region], b)
		}
	}
	return out, nil
}

func closeRegionBuckets(buckets map[string][]*blob.Bucket) error {
	var errs []error
	for _, bs := range buckets {
		for _, b := range bs {
			errs = append(errs, b.Close())
		}
	}
	return errors.Join(errs...)
}

// redactURL hides credentials a bucket URL may carry in its query.
func redactURL(u string) string {
	base, _, _ := strings.Cut(u, "?")
	return base
}
