package blobapi

import (
	"context"
	"syscall"
	"testing"
	"time"

	"github.com/google/uuid"
	"gocloud.dev/blob/memblob"

	"github.com/galleon-project/galleon"
	"github.com/galleon-project/galleon/chunkstore"
)

// cpuTime is the CPU time this process has used, user and system.
func cpuTime(t *testing.T) time.Duration {
	t.Helper()
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		t.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func emptyDisk() *galleon.Disk {
	d := &galleon.Disk{Location: "eastus"}
	d.Properties.UniqueID = uuid.NewString()
	return d
}

// TestDisks_EmptyContentCPU: an Empty disk of the largest size Galleon
// accepts stops costing CPU once its client hangs up, and a second disk
// of a size already asked for costs next to nothing. (Not parallel: it
// measures the CPU time of the whole process.)
func TestDisks_EmptyContentCPU(t *testing.T) {
	bucket := memblob.OpenBucket(nil)
	t.Cleanup(func() { bucket.Close() })
	zeros := &chunkstore.ZeroHashes{}
	store := &chunkstore.Store{Bucket: bucket, Zeros: zeros}
	x := &Disks{Stores: map[string]*chunkstore.Store{"eastus": store}}

	t.Run("ErrClientGone", func(t *testing.T) {
		const size = 32767 << 30
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		done := make(chan error, 1)
		go func() {
			_, err := x.EmptyContent(ctx, emptyDisk(), size)
			done <- err
		}()
		select {
		case err := <-done:
			if err == nil {
				t.Fatal("a 32,767 GiB empty disk was made in a second")
			}
		case <-time.After(5 * time.Second):
			t.Fatal("EmptyContent went on 4 s after its context ended")
		}
		time.Sleep(100 * time.Millisecond) // the worker's last piece
		before := cpuTime(t)
		time.Sleep(time.Second)
		if used := cpuTime(t) - before; used > 100*time.Millisecond {
			t.Errorf("the process used %v of CPU in the second after the client went, want next to none", used)
		}
	})
	t.Run("OKKnownSize", func(t *testing.T) {
		const size = 1 << 30
		first, err := x.EmptyContent(context.Background(), emptyDisk(), size)
		if err != nil {
			t.Fatal(err)
		}
		before := cpuTime(t)
		second, err := x.EmptyContent(context.Background(), emptyDisk(), size)
		used := cpuTime(t) - before
		if err != nil {
			t.Fatal(err)
		}
		if first == second {
			t.Error("two empty disks have the same digest, but their footers differ")
		}
		if used > 50*time.Millisecond {
			t.Errorf("a second empty disk of a known size used %v of CPU, want next to none", used)
		}
		t.Logf("a second empty disk of 1 GiB used %v of CPU", used)
	})
}
