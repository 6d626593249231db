// Command armbench measures ARM read throughput of a real galleon binary:
// GET one gallery and list the galleries of a resource group, each at a
// fixed number of concurrent connections, against a baseline measured in
// the same run on the same server — GET /metadata/endpoints, which is TLS
// and HTTP with no authentication, authorization or database — so the
// figures can be compared across noisy machines as ratios.
//
// It runs once on SQLite and once on PostgreSQL: the server named by
// GALLEON_TEST_POSTGRES, or a throwaway cluster from Debian's binaries.
//
//	go run ./bench/armbench -duration 10s -connections 32
package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/galleon-project/galleon/pgtest"
)

func main() {
	duration := flag.Duration("duration", 10*time.Second, "how long each scenario runs")
	warmup := flag.Duration("warmup", 2*time.Second, "unmeasured load before each scenario")
	conns := flag.Int("connections", 32, "concurrent connections")
	galleries := flag.Int("galleries", 20, "galleries in the listed resource group")
	databases := flag.String("databases", "sqlite,postgres", "databases to run on, in order")
	flag.Parse()

	dir, err := os.MkdirTemp("", "armbench-")
	check(err)
	defer os.RemoveAll(dir)
	bin := filepath.Join(dir, "galleon")
	build := exec.Command("go", "build", "-o", bin, "./cmd/galleon")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	check(build.Run())
	defer pgtest.Stop()

	fmt.Printf("armbench: %d connections, %s per scenario, %s, %d CPUs\n", *conns, *duration, runtime.GOOS+"/"+runtime.GOARCH, runtime.NumCPU())
	for _, db := range strings.Split(*databases, ",") {
		url := ""
		switch db {
		case "sqlite":
		case "postgres":
			admin, err := pgtest.AdminURL()
			check(err)
			var drop func()
			url, drop, err = pgtest.CreateDatabase(admin)
			check(err)
			defer drop()
		default:
			log.Fatalf("-databases: unknown %q", db)
		}
		run(bin, filepath.Join(dir, "data-"+db), db, url, *conns, *galleries, *warmup, *duration)
	}
}

// run starts a server on one database, seeds it and measures every scenario.
func run(bin, dataDir, name, database string, conns, galleries int, warmup, duration time.Duration) {
	addr := freeAddr()
	args := []string{"serve", "--data", dataDir, "--listen", addr, "--log-level", "warn"}
	if database != "" {
		args = append(args, "--database", database)
	}
	srv := exec.Command(bin, args...)
	srv.Stdout, srv.Stderr = io.Discard, os.Stderr
	check(srv.Start())
	defer func() {
		_ = srv.Process.Signal(syscall.SIGTERM)
		_ = srv.Wait()
	}()
	base := "https://" + addr
	creds := waitForCredentials(filepath.Join(dataDir, "credentials.json"), base)
	client := clientTrusting(creds.CACertificate, conns)
	token := getToken(client, base, creds)

	sub := "/subscriptions/" + creds.SubscriptionID
	rg := sub + "/resourceGroups/bench"
	mustDo(client, token, "PUT", base+rg+"?api-version=2021-04-01", `{"location":"eastus"}`)
	for i := range galleries {
		mustDo(client, token, "PUT", fmt.Sprintf("%s%s/providers/Microsoft.Compute/galleries/bench%03d?api-version=2025-03-03", base, rg, i),
			`{"location":"eastus","properties":{"description":"benchmark gallery"}}`)
	}

	scenarios := []struct{ name, url string }{
		{"baseline: GET /metadata/endpoints (no auth, no database)", base + "/metadata/endpoints?api-version=2015-01-01"},
		{"GET gallery", base + rg + "/providers/Microsoft.Compute/galleries/bench000?api-version=2025-03-03"},
		{fmt.Sprintf("list galleries by resource group (%d items)", galleries), base + rg + "/providers/Microsoft.Compute/galleries?api-version=2025-03-03"},
	}
	fmt.Printf("\ndatabase: %s\n%-58s %10s %9s %9s %8s\n", name, "scenario", "req/s", "p50", "p99", "vs base")
	var baseline float64
	for i, sc := range scenarios {
		load(client, token, sc.url, conns, warmup)
		r := load(client, token, sc.url, conns, duration)
		if i == 0 {
			baseline = r.rps
		}
		fmt.Printf("%-58s %10.0f %9s %9s %7.2fx\n", sc.name, r.rps, r.p50.Round(10*time.Microsecond),
			r.p99.Round(10*time.Microsecond), r.rps/baseline)
		if r.errors > 0 {
			log.Fatalf("%s: %d failed requests", sc.name, r.errors)
		}
	}
}

type result struct {
	rps      float64
	p50, p99 time.Duration
	errors   int64
}

// load keeps conns requests in flight for d and reports throughput and
// latency percentiles over every completed request.
func load(client *http.Client, token, url string, conns int, d time.Duration) result {
	var errs atomic.Int64
	lat := make([][]time.Duration, conns)
	deadline := time.Now().Add(d)
	start := time.Now()
	var wg sync.WaitGroup
	for w := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(deadline) {
				t0 := time.Now()
				req, _ := http.NewRequest("GET", url, nil)
				req.Header.Set("Authorization", "Bearer "+token)
				resp, err := client.Do(req)
				if err != nil {
					errs.Add(1)
					continue
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 200 {
					errs.Add(1)
				}
				lat[w] = append(lat[w], time.Since(t0))
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	all := slices.Concat(lat...)
	slices.Sort(all)
	if len(all) == 0 {
		return result{errors: errs.Load()}
	}
	return result{
		rps:    float64(len(all)) / elapsed.Seconds(),
		p50:    all[len(all)*50/100],
		p99:    all[len(all)*99/100],
		errors: errs.Load(),
	}
}

type credentials struct {
	TenantID       string `json:"tenantId"`
	SubscriptionID string `json:"subscriptionId"`
	ClientID       string `json:"clientId"`
	ClientSecret   string `json:"clientSecret"`
	CACertificate  string `json:"caCertificate"`
}

func waitForCredentials(path, base string) credentials {
	insecure := &http.Client{Timeout: time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		resp, err := insecure.Get(base + "/metadata/endpoints?api-version=2015-01-01")
		if err != nil {
			continue
		}
		resp.Body.Close()
		data, err := os.ReadFile(path)
		if err != nil {
			continue
		}
		var c credentials
		check(json.Unmarshal(data, &c))
		return c
	}
	log.Fatal("galleon did not start")
	return credentials{}
}

func clientTrusting(caPath string, conns int) *http.Client {
	pem, err := os.ReadFile(caPath)
	check(err)
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pem)
	return &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: pool}, MaxIdleConnsPerHost: conns, MaxConnsPerHost: conns}}
}

func getToken(client *http.Client, base string, c credentials) string {
	form := url.Values{"grant_type": {"client_credentials"}, "client_id": {c.ClientID}, "client_secret": {c.ClientSecret},
		"scope": {"https://management.core.windows.net//.default"}}
	resp, err := client.PostForm(base+"/"+c.TenantID+"/oauth2/v2.0/token", form)
	check(err)
	defer resp.Body.Close()
	var body struct {
		AccessToken string `json:"access_token"`
	}
	check(json.NewDecoder(resp.Body).Decode(&body))
	if body.AccessToken == "" {
		log.Fatalf("token endpoint answered %d", resp.StatusCode)
	}
	return body.AccessToken
}

func mustDo(client *http.Client, token, method, url, body string) {
	req, err := http.NewRequestWithContext(context.Background(), method, url, bytes.NewReader([]byte(body)))
	check(err)
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := client.Do(req)
	check(err)
	defer resp.Body.Close()
	if resp.StatusCode >= 300 {
		b, _ := io.ReadAll(resp.Body)
		log.Fatalf("%s %s: %d %s", method, url, resp.StatusCode, strings.TrimSpace(string(b)))
	}
}

func freeAddr() string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	check(err)
	defer l.Close()
	return l.Addr().String()
}

func check(err error) {
	if err != nil {
		log.Fatal(err)
	}
}
