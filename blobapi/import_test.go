package blobapi_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"gocloud.dev/blob/memblob"

	"github.com/galleon-project/galleon"
	"github.com/galleon-project/galleon/blobapi"
	"github.com/galleon-project/galleon/chunkstore"
	"github.com/galleon-project/galleon/netguard"
	"github.com/galleon-project/galleon/vhd"
)

// fixedVHD is a 20 MiB fixed VHD of zeros, footer included.
func fixedVHD(t *testing.T) []byte {
	t.Helper()
	const size = 20 << 20
	f, err := vhd.NewFixedFooter(size, time.Now(), [16]byte{1})
	if err != nil {
		t.Fatal(err)
	}
	tail, err := f.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	return append(make([]byte, size), tail...)
}

func mustImporter(t *testing.T, allow ...string) *blobapi.Importer {
	t.Helper()
	p, err := netguard.NewPolicy(allow)
	if err != nil {
		t.Fatal(err)
	}
	return blobapi.NewImporter(p)
}

func wantInvalid(t *testing.T, what string, err error, contains ...string) {
	t.Helper()
	var ge *galleon.Error
	if !errors.As(err, &ge) || ge.Code != galleon.CodeInvalidParameter || ge.Target != "properties.creationData.sourceUri" {
		t.Fatalf("%s: %v, want InvalidParameter at properties.creationData.sourceUri", what, err)
	}
	for _, c := range contains {
		if !strings.Contains(ge.Message, c) {
			t.Errorf("%s: %q does not say %q", what, ge.Message, c)
		}
	}
}

func TestImporter_ImportVHD(t *testing.T) {
	data := fixedVHD(t)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/os.vhd":
			w.Write(data)
		case "/huge.vhd":
			w.Header().Set("Content-Length", strconv.FormatInt(galleon.MaxUploadSizeBytes+512, 10))
		case "/redirect":
			http.Redirect(w, r, "http://127.0.0.1:1/os.vhd", http.StatusFound)
		}
	}))
	defer srv.Close()
	u, _ := url.Parse(srv.URL)
	ctx := context.Background()
	store := &chunkstore.Store{Bucket: memblob.OpenBucket(nil)}
	const target = "properties.creationData.sourceUri"

	t.Run("OK", func(t *testing.T) {
		m, err := mustImporter(t, u.Host).ImportVHD(ctx, store, "disk-ok", srv.URL+"/os.vhd", target)
		if err != nil {
			t.Fatal(err)
		}
		if m.Size != int64(len(data)) {
			t.Errorf("imported %d bytes, want %d", m.Size, len(data))
		}
	})
	t.Run("ErrLoopbackRefused", func(t *testing.T) {
		_, err := mustImporter(t).ImportVHD(ctx, store, "disk-refused", srv.URL+"/os.vhd", target)
		wantInvalid(t, "an import from 127.0.0.1 without the allow-list", err, "loopback", blobapi.AllowFlag+" "+u.Host)
	})
	t.Run("ErrLoopbackNameRefused", func(t *testing.T) {
		// localhost is decided up front; the dial hook decides other names
		// (netguard's tests).
		_, err := mustImporter(t).ImportVHD(ctx, store, "disk-refused", strings.Replace(srv.URL, "127.0.0.1", "localhost", 1)+"/os.vhd", target)
		wantInvalid(t, "an import from localhost", err, "loopback", blobapi.AllowFlag+" localhost:"+u.Port())
	})
	t.Run("ErrRedirectRefused", func(t *testing.T) {
		_, err := mustImporter(t, u.Host).ImportVHD(ctx, store, "disk-redirect", srv.URL+"/redirect", target)
		wantInvalid(t, "a redirect from an allowed host to another loopback port", err, "redirects to a refused URL: 127.0.0.1 is a loopback address", blobapi.AllowFlag+" 127.0.0.1:1")
	})
	t.Run("ErrRefusedWhenDialed", func(t *testing.T) {
		// A URL that passes the up-front check but connects where the
		// guard refuses (a name resolving to loopback, after a rebinding)
		// is the same InvalidParameter, from the dial hook.
		im := mustImporter(t, u.Host)
		im.Client = (&netguard.Policy{}).Client()
		_, err := im.ImportVHD(ctx, store, "disk-dialed", srv.URL+"/os.vhd", target)
		wantInvalid(t, "an import refused when dialed", err, "loopback", blobapi.AllowFlag+" "+u.Host)
	})
	t.Run("ErrScheme", func(t *testing.T) {
		for _, uri := range []string{"file:///etc/passwd", "ftp://example.com/os.vhd", "http://user:secret@example.com/os.vhd"} {
			_, err := mustImporter(t).ImportVHD(ctx, store, "disk-scheme", uri, target)
			wantInvalid(t, uri, err)
		}
	})
	t.Run("ErrTooLarge", func(t *testing.T) {
		_, err := mustImporter(t, u.Host).ImportVHD(ctx, store, "disk-huge", srv.URL+"/huge.vhd", target)
		wantInvalid(t, "a source declaring more bytes than Azure's largest VHD", err, "largest VHD")
	})
	for _, id := range []string{"disk-refused", "disk-dialed", "disk-redirect", "disk-scheme", "disk-huge"} {
		if _, err := store.GetManifest(ctx, id); err == nil {
			t.Errorf("a refused import left manifest %s", id)
		}
	}
}

func TestImporter_CheckSource(t *testing.T) {
	im := mustImporter(t, "127.0.0.1:10000")
	const target = "properties.storageProfile.osDiskImage.source.uri"
	for _, tt := range []struct {
		uri string
		ok  bool
	}{
		{"https://account.blob.core.windows.net/vhds/os.vhd?sig=x", true},
		{"http://127.0.0.1:10000/devstoreaccount1/vhds/os.vhd", true},
		{"http://minio.lan:9000/vhds/os.vhd", true}, // decided when fetched
		{"http://169.254.169.254/metadata/instance", false},
		{"http://[::1]:10000/x", false},
		{"http://127.0.0.1:8443/x", false},
		{"gopher://example.com/x", false},
		{"%zz", false},
	} {
		err := im.CheckSource(tt.uri, target)
		var ge *galleon.Error
		switch {
		case tt.ok && err != nil:
			t.Errorf("CheckSource(%s) = %v, want nil", tt.uri, err)
		case !tt.ok && (!errors.As(err, &ge) || ge.Code != galleon.CodeInvalidParameter || ge.Target != target):
			t.Errorf("CheckSource(%s) = %v, want InvalidParameter at %s", tt.uri, err, target)
		}
	}
}
