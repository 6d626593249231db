package azuritetest

import (
	"bytes"
	"context"
	"io"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/container"
	"gocloud.dev/blob/azureblob"
)

// TestAzurite checks the emulator with both clients Galleon uses against
// Azure Blob storage: the Azure SDK's azblob, and gocloud's azureblob
// driver, which region buckets go through.
func TestAzurite(t *testing.T) {
	a := Start(t)
	ctx := context.Background()
	svc, err := azblob.NewClientFromConnectionString(a.ConnectionString(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.CreateContainer(ctx, "images", nil); err != nil {
		t.Fatal(err)
	}
	want := bytes.Repeat([]byte("galleon"), 1000)
	if _, err := svc.UploadBuffer(ctx, "images", "a.bin", want, nil); err != nil {
		t.Fatal(err)
	}

	client, err := container.NewClientFromConnectionString(a.ConnectionString(), "images", nil)
	if err != nil {
		t.Fatal(err)
	}
	bucket, err := azureblob.OpenBucket(ctx, client, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer bucket.Close()
	r, err := bucket.NewReader(ctx, "a.bin", nil)
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(r)
	r.Close()
	if err != nil || !bytes.Equal(got, want) {
		t.Fatalf("gocloud read %d bytes, %v; want what azblob wrote", len(got), err)
	}
	if err := bucket.WriteAll(ctx, "b.bin", want[:10], nil); err != nil {
		t.Fatal(err)
	}
	resp, err := svc.DownloadStream(ctx, "images", "b.bin", nil)
	if err != nil {
		t.Fatal(err)
	}
	back, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !bytes.Equal(back, want[:10]) {
		t.Fatalf("azblob read %q", back)
	}
}
