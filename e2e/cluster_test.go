package e2e

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/compute/armcompute/v7"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/resources/armresources"

	"github.com/galleon-project/galleon/pgtest"
)

// startCluster starts two nodes on one fresh PostgreSQL database at the same
// time, each with a data folder of its own, behind a round-robin TCP load
// balancer whose URL both advertise with --public-url, as the README's
// cluster recipe says. Each returned Server talks to its node directly; its
// credentials name the bootstrap service principal and the balancer as the
// authority, so a token from either node is valid on both.
func startCluster(t *testing.T) (a, b *Server) {
	t.Helper()
	db := pgtest.NewDatabase(t)
	a = &Server{DataDir: t.TempDir(), Addr: freeAddr(t)}
	b = &Server{DataDir: t.TempDir(), Addr: freeAddr(t)}
	lb := startBalancer(t, a.Addr, b.Addr)
	for _, s := range []*Server{a, b} {
		s.Args = []string{"--database", db, "--public-url", "https://" + lb}
		s.Launch(t)
	}
	a.WaitReady(t)
	b.WaitReady(t)

	// Exactly one node bootstrapped the installation; the other joined it.
	bootstrapper, joiner := a, b
	if a.Creds.ClientSecret == "" {
		bootstrapper, joiner = b, a
	}
	if bootstrapper.Creds.ClientSecret == "" || joiner.Creds.ClientSecret != "" {
		t.Fatalf("want exactly one node with bootstrap secrets: %q and %q", a.Creds.ClientSecret, b.Creds.ClientSecret)
	}
	if joiner.Creds.TenantID != bootstrapper.Creds.TenantID || joiner.Creds.SubscriptionID != bootstrapper.Creds.SubscriptionID {
		t.Fatalf("the nodes disagree on the installation: %+v vs %+v", a.Creds, b.Creds)
	}
	if readFile(t, a.Creds.CACertificate) != readFile(t, b.Creds.CACertificate) {
		t.Fatal("the nodes should share one CA")
	}
	// Give the joiner the bootstrap secrets, as an operator copying
	// credentials.json would, and aim each client's ARM calls at its node.
	joiner.Creds = bootstrapper.Creds
	for _, s := range []*Server{a, b} {
		s.Creds.ResourceManagerEndpoint = s.URL + "/"
	}
	return a, b
}

// startBalancer forwards TCP connections to the backends in turn.
func startBalancer(t *testing.T, backends ...string) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	var next atomic.Int64
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				for range backends { // skip a dead backend, as a balancer's health check would
					u, err := net.Dial("tcp", backends[next.Add(1)%int64(len(backends))])
					if err != nil {
						continue
					}
					defer u.Close()
					go func() { _, _ = io.Copy(u, c) }()
					_, _ = io.Copy(c, u)
					return
				}
			}()
		}
	}()
	return l.Addr().String()
}

func TestCluster(t *testing.T) {
	t.Parallel()
	a, b := startCluster(t)
	sdkA, sdkB := NewSDK(t, a), NewSDK(t, b)
	ctx := context.Background()

	t.Run("CreateOnAUseOnB", func(t *testing.T) {
		sdkA.createGroup(t, "shared")
		if _, err := sdkA.createGallery(ctx, "shared", "onA", armcompute.Gallery{
			Properties: &armcompute.GalleryProperties{Description: to.Ptr("made on A")}}); err != nil {
			t.Fatal(err)
		}
		g, err := sdkB.Galleries.Get(ctx, "shared", "onA", nil)
		if err != nil || *g.Properties.Description != "made on A" {
			t.Fatalf("B reading A's gallery: %v %v", g, err)
		}
		up, err := sdkB.Galleries.BeginUpdate(ctx, "shared", "onA", armcompute.GalleryUpdate{
			Properties: &armcompute.GalleryProperties{Description: to.Ptr("changed on B")}}, nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := up.PollUntilDone(ctx, pollOpts); err != nil {
			t.Fatal(err)
		}
		g, err = sdkA.Galleries.Get(ctx, "shared", "onA", nil)
		if err != nil || *g.Properties.Description != "changed on B" {
			t.Fatalf("A reading B's update: %v %v", g, err)
		}
		del, err := sdkB.Galleries.BeginDelete(ctx, "shared", "onA", nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := del.PollUntilDone(ctx, pollOpts); err != nil {
			t.Fatal(err)
		}
		_, err = sdkA.Galleries.Get(ctx, "shared", "onA", nil)
		wantResponseError(t, "A reading a gallery B deleted", err, 404, "ResourceNotFound")
	})

	t.Run("TokenFromAWorksOnB", func(t *testing.T) {
		tok := a.Token(t)
		code, _, body := b.Do(t, "GET", "/subscriptions/"+b.Creds.SubscriptionID+"/resourcegroups?api-version=2021-04-01", tok, nil)
		if code != 200 {
			t.Fatalf("B refused A's token: %d %v", code, body)
		}
	})

	t.Run("OperationStartedOnAPolledOnB", func(t *testing.T) {
		sdkA.createGroup(t, "doomed")
		if _, err := sdkA.createGallery(ctx, "doomed", "goner", armcompute.Gallery{}); err != nil {
			t.Fatal(err)
		}
		tok := a.Token(t)
		code, h, body := a.Do(t, "DELETE", "/subscriptions/"+a.Creds.SubscriptionID+"/resourcegroups/doomed?api-version=2021-04-01", tok, nil)
		if code != 202 {
			t.Fatalf("delete on A: %d %v", code, body)
		}
		path := strings.TrimPrefix(h.Get("Azure-AsyncOperation"), strings.TrimSuffix(a.Creds.AuthorityHost, "/"))
		deadline := time.Now().Add(30 * time.Second)
		for {
			code, _, body := b.Do(t, "GET", path, tok, nil)
			if code != 200 {
				t.Fatalf("polling on B: %d %v", code, body)
			}
			if body["status"] == "Succeeded" {
				break
			}
			if body["status"] != "InProgress" || time.Now().After(deadline) {
				t.Fatalf("operation on B: %v", body)
			}
			time.Sleep(100 * time.Millisecond)
		}
		_, err := sdkB.Groups.Get(ctx, "doomed", nil)
		wantResponseError(t, "the deleted group on B", err, 404, "ResourceGroupNotFound")
	})

	t.Run("ConcurrentPutsAcrossNodes", func(t *testing.T) {
		const n = 50
		for i := range n {
			sdkA.createGroup(t, fmt.Sprintf("race%02d", i))
		}
		var wg sync.WaitGroup
		errs := make([]error, n)
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				sdk := sdkA
				if i%2 == 1 {
					sdk = sdkB
				}
				_, errs[i] = sdk.createGallery(ctx, fmt.Sprintf("race%02d", i), "contested", armcompute.Gallery{})
			}()
		}
		wg.Wait()
		ok, conflicts := 0, 0
		for _, err := range errs {
			var re *azcore.ResponseError
			switch {
			case err == nil:
				ok++
			case errors.As(err, &re) && re.StatusCode == 409 && re.ErrorCode == "Conflict":
				conflicts++
			default:
				t.Errorf("unexpected error: %v", err)
			}
		}
		if ok != 1 || conflicts != n-1 {
			t.Fatalf("%d succeeded and %d conflicted, want 1 and %d", ok, conflicts, n-1)
		}
		count := 0
		pager := sdkB.Galleries.NewListPager(nil)
		for pager.More() {
			page, err := pager.NextPage(ctx)
			if err != nil {
				t.Fatal(err)
			}
			for _, g := range page.Value {
				if *g.Name == "contested" {
					count++
				}
			}
		}
		if count != 1 {
			t.Fatalf("%d galleries named contested, want 1", count)
		}
	})
}

// TestCluster_SurvivesKilledNode kills a node with SIGKILL right after it
// accepted a resource-group deletion: the operation is finished and can be
// followed on the other node, which keeps serving. (The deletion usually
// completes on the first node before the kill; taking over a dead node's
// leased work is tested with a killed holder process in sqlstore.)
func TestCluster_SurvivesKilledNode(t *testing.T) {
	t.Parallel()
	a, b := startCluster(t)
	sdkA := NewSDK(t, a)
	ctx := context.Background()
	sdkA.createGroup(t, "orphaned")
	tok := a.Token(t)
	code, h, body := a.Do(t, "DELETE", "/subscriptions/"+a.Creds.SubscriptionID+"/resourcegroups/orphaned?api-version=2021-04-01", tok, nil)
	if code != 202 {
		t.Fatalf("delete on A: %d %v", code, body)
	}
	a.Kill(t)
	path := strings.TrimPrefix(h.Get("Azure-AsyncOperation"), strings.TrimSuffix(a.Creds.AuthorityHost, "/"))
	deadline := time.Now().Add(60 * time.Second)
	for {
		code, _, body := b.Do(t, "GET", path, tok, nil)
		if code == 200 && body["status"] == "Succeeded" {
			break
		}
		if code != 200 || body["status"] != "InProgress" || time.Now().After(deadline) {
			t.Fatalf("operation on B after A died: %d %v", code, body)
		}
		time.Sleep(200 * time.Millisecond)
	}
	sdkB := NewSDK(t, b)
	_, err := sdkB.Groups.Get(ctx, "orphaned", nil)
	wantResponseError(t, "the group B deleted", err, 404, "ResourceGroupNotFound")
	if _, err := sdkB.Groups.CreateOrUpdate(ctx, "after", armresources.ResourceGroup{Location: to.Ptr("eastus")}, nil); err != nil {
		t.Fatal(err)
	}
}
