// Command ingestbench measures the byte path of image versions against
// baselines from the same run on the same disk: ingesting an image into a
// region store versus cp of the file, replicating it to two more regions
// versus two cps, the bytes a 1 % delta moves, and peak memory.
//
//	go run ./bench/ingestbench -size 1024
package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"io"
	"log"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/galleon-project/galleon/chunkstore"
)

func main() {
	sizeMiB := flag.Int64("size", 1024, "image size in MiB")
	flag.Parse()
	size := *sizeMiB << 20
	ctx := context.Background()
	dir, err := os.MkdirTemp(".", ".ingestbench-") // on the same disk as the stores, not a tmpfs
	check(err)
	defer os.RemoveAll(dir)
	dir, _ = filepath.Abs(dir)

	image := filepath.Join(dir, "image.raw")
	writeRandom(image, size, 1)
	open := func(region string) *chunkstore.Store {
		s, err := chunkstore.OpenStore(ctx, "file://"+filepath.Join(dir, region)+"?create_dir=1&no_tmp_dir=1&metadata=skip")
		check(err)
		return s
	}
	east, west, europe := open("eastus"), open("westus2"), open("westeurope")

	cp := func(dst string) time.Duration {
		start := time.Now()
		out, err := exec.Command("cp", image, filepath.Join(dir, dst)).CombinedOutput()
		if err != nil {
			log.Fatalf("cp: %v: %s", err, out)
		}
		check(exec.Command("sync").Run())
		return time.Since(start)
	}
	cpOnce := cp("copy1")

	start := time.Now()
	f, err := os.Open(image)
	check(err)
	m, _, err := east.Ingest(ctx, "v1", bufio.NewReaderSize(f, 4<<20))
	check(err)
	f.Close()
	check(exec.Command("sync").Run())
	ingest := time.Since(start)

	cpTwice := cp("copy2") + cp("copy3")
	start = time.Now()
	_, err = chunkstore.Copy(ctx, west, east, "v1", m, chunkstore.CopyOptions{})
	check(err)
	_, err = chunkstore.Copy(ctx, europe, east, "v1", m, chunkstore.CopyOptions{})
	check(err)
	check(exec.Command("sync").Run())
	replicate := time.Since(start)

	// 1 % of the bytes changed in four contiguous runs, as a patched image.
	changeRuns(image, size, 4, size/100)
	f, err = os.Open(image)
	check(err)
	m2, _, err := east.Ingest(ctx, "v2", bufio.NewReaderSize(f, 4<<20))
	check(err)
	f.Close()
	start = time.Now()
	delta, err := chunkstore.Copy(ctx, west, east, "v2", m2, chunkstore.CopyOptions{})
	check(err)
	deltaTime := time.Since(start)

	mib := func(d time.Duration) string {
		return fmt.Sprintf("%.0f MiB/s", float64(size)/float64(1<<20)/d.Seconds())
	}
	fmt.Printf("ingestbench: %d MiB image, %s, %d CPUs, file:// stores on the working directory's disk\n\n", *sizeMiB, runtime.GOOS+"/"+runtime.GOARCH, runtime.NumCPU())
	fmt.Printf("%-44s %10s %12s %10s\n", "measure", "time", "throughput", "vs base")
	fmt.Printf("%-44s %10s %12s %10s\n", "baseline: cp of the image", cpOnce.Round(time.Millisecond), mib(cpOnce), "1.00x")
	fmt.Printf("%-44s %10s %12s %9.2fx\n", "ingest into the eastus store", ingest.Round(time.Millisecond), mib(ingest), cpOnce.Seconds()/ingest.Seconds())
	fmt.Printf("%-44s %10s %12s %10s\n", "baseline: two cps of the image", cpTwice.Round(time.Millisecond), mib(cpTwice/2), "1.00x")
	fmt.Printf("%-44s %10s %12s %9.2fx\n", "replicate to westus2 and westeurope", replicate.Round(time.Millisecond), mib(replicate/2), cpTwice.Seconds()/replicate.Seconds())
	fmt.Printf("%-44s %10s %12s %9.2f%%\n", "delta (1% changed) replicated: bytes moved", deltaTime.Round(time.Millisecond),
		fmt.Sprintf("%d MiB", delta.BytesCopied>>20), 100*float64(delta.BytesCopied)/float64(size))
	fmt.Printf("%-44s %10s\n", "peak RSS of this process", peakRSS())
	fmt.Println("\nvs base: the baseline's time divided by the measure's (above 1 is faster than cp).")
}

func writeRandom(path string, size int64, seed uint64) {
	f, err := os.Create(path)
	check(err)
	w := bufio.NewWriterSize(f, 4<<20)
	r := rand.NewChaCha8([32]byte{byte(seed)})
	_, err = io.CopyN(w, r, size)
	check(err)
	check(w.Flush())
	check(f.Close())
}

// changeRuns overwrites total bytes of the file in n evenly spaced runs.
func changeRuns(path string, size int64, n int, total int64) {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	check(err)
	defer f.Close()
	run := total / int64(n)
	buf := make([]byte, run)
	r := rand.NewChaCha8([32]byte{9})
	for i := range n {
		_, _ = r.Read(buf)
		_, err := f.WriteAt(buf, int64(i+1)*size/int64(n+1))
		check(err)
	}
}

func peakRSS() string {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return "unknown"
	}
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			return strings.TrimSpace(v)
		}
	}
	return "unknown"
}

func check(err error) {
	if err != nil {
		log.Fatal(err)
	}
}
