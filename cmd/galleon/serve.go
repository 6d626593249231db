package main

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"gocloud.dev/blob"

	"github.com/galleon-project/galleon"
	"github.com/galleon-project/galleon/armapi"
	"github.com/galleon-project/galleon/authz"
	"github.com/galleon-project/galleon/blobapi"
	"github.com/galleon-project/galleon/chunkstore"
	"github.com/galleon-project/galleon/graph"
	"github.com/galleon-project/galleon/identity"
	"github.com/galleon-project/galleon/internal/failpoint"
	"github.com/galleon-project/galleon/internal/httplimit"
	"github.com/galleon-project/galleon/netguard"
	"github.com/galleon-project/galleon/operations"
	"github.com/galleon-project/galleon/pki"
	"github.com/galleon-project/galleon/portal"
	"github.com/galleon-project/galleon/replication"
	"github.com/galleon-project/galleon/sqlstore"
)

// Config is what `galleon serve` is told by flags and GALLEON_* variables.
type Config struct {
	DataDir   string
	Listen    string
	PublicURL string
	Hostnames []string
	Regions   []string
	TLSCert   string
	TLSKey    string
	Database  string
	PageSize  int
	LogLevel  string
	// RegionBuckets are "region=bucket-url" values; see regionBucketURLs.
	RegionBuckets []string
	// WorkLease is how long a node holds background work without renewing.
	WorkLease time.Duration
	// WorkMaxAttempts bounds the tries of a long-running operation that
	// keeps failing transiently before it, and its region, are Failed.
	WorkMaxAttempts int
	// GCInterval is how often the region stores' unreferenced chunks are
	// collected; zero disables collection.
	GCInterval time.Duration
	// ScrubInterval is how often every chunk of every region store is read
	// back, verified and repaired; zero disables scrubbing.
	ScrubInterval time.Duration
	// ScrubRate bounds the bytes a second a scrub pass reads; zero: no bound.
	ScrubRate int64
	// ImportAllowHosts are the hosts, addresses and networks that VHD
	// imports may reach although they are not public (netguard.NewPolicy).
	ImportAllowHosts []string
	// SoftDeleteRetention is how long an image version deleted from a
	// gallery with soft delete on stays restorable, its bytes kept.
	SoftDeleteRetention time.Duration
	Directory           DirectoryConfig
	// MaxConnections bounds the connections open at once; zero sizes it
	// below the process's limit on open files.
	MaxConnections int
	// BodyTimeout is how long a request body may take to arrive; a page
	// upload instead has this long plus its size at UploadMinRate.
	BodyTimeout time.Duration
	// UploadMinRate is the slowest, in bytes per second, a page upload to
	// the data plane may arrive.
	UploadMinRate int64
	// IdleTimeout is how long a kept-alive connection may wait for its
	// next request.
	IdleTimeout time.Duration
	// Metrics serves /metrics; it is off unless asked for, since what it
	// tells (request counts, sizes, timings) is nobody else's business.
	Metrics bool
}

func newServeCommand() *cobra.Command {
	var c Config
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Serve the ARM API, identity endpoints and portal",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := bindEnv(cmd.Flags()); err != nil {
				return err
			}
			m := &Main{Config: c, Out: cmd.OutOrStdout()}
			if err := m.Open(cmd.Context()); err != nil {
				m.Close()
				return err
			}
			err := m.Run(cmd.Context())
			if cerr := m.Close(); err == nil {
				err = cerr
			}
			return err
		},
	}
	addServeFlags(cmd.Flags(), &c)
	return cmd
}

// addServeFlags declares serve's flags into c, with their defaults.
func addServeFlags(f *pflag.FlagSet, c *Config) {
	f.StringVar(&c.DataDir, "data", "./galleon-data", "data folder: database, TLS material, keys, credentials")
	f.StringVar(&c.Listen, "listen", "127.0.0.1:8443", "address to listen on")
	f.StringVar(&c.PublicURL, "public-url", "", "URL clients reach this server at (default https://<listen address>)")
	f.StringSliceVar(&c.Hostnames, "hostname", nil, "extra host names or IPs for the generated server certificate")
	f.StringSliceVar(&c.Regions, "regions", []string{"eastus", "westus2", "westeurope"}, "regions this installation serves")
	f.StringVar(&c.TLSCert, "tls-cert", "", "server certificate PEM (default: generated under <data>/tls)")
	f.StringVar(&c.TLSKey, "tls-key", "", "server key PEM, with --tls-cert")
	f.StringVar(&c.Database, "database", "", "database URL (default: SQLite file <data>/galleon.db)")
	f.IntVar(&c.PageSize, "list-page-size", armapi.DefaultPageSize, "items per page of ARM lists")
	f.StringVar(&c.LogLevel, "log-level", "info", "debug, info, warn or error")
	f.DurationVar(&c.WorkLease, "work-lease", 30*time.Second, "how long a node's claim on background work lasts unrenewed; a crashed node's work waits this long")
	f.DurationVar(&c.GCInterval, "gc-interval", 15*time.Minute, "how often chunks no image refers to any more are deleted from the region stores; 0 disables")
	f.DurationVar(&c.ScrubInterval, "scrub-interval", 24*time.Hour, "how often every chunk of every region store is read back, verified against its sha256 and repaired from another region's copy; 0 disables")
	f.Int64Var(&c.ScrubRate, "scrub-rate", 50<<20, "bytes per second a scrub pass may read (its repairs included); 0 for no bound")
	f.IntVar(&c.WorkMaxAttempts, "work-max-attempts", 10, "how often a long-running operation is tried (with backoff 1s, 2s, 4s, … up to 1m) before a transient error fails it")
	f.StringSliceVar(&c.ImportAllowHosts, "import-allow-hosts", nil, "hosts VHD imports (sourceUri, blobUri, a version's source uri) may fetch from although they are not public; "+
		"loopback, private, link-local (cloud metadata), CGNAT, multicast and unspecified addresses are refused by default. "+
		"Entries: host, host:port, IP, IP:port or CIDR, comma-separated or repeated (e.g. 127.0.0.1:10000 for Azurite, minio.lan:9000, 10.0.0.0/8)")
	f.DurationVar(&c.SoftDeleteRetention, "soft-delete-retention", armapi.DefaultSoftDeleteRetention,
		"how long an image version deleted from a gallery whose softDeletePolicy is on stays listed and restorable, its bytes kept, before it is purged (Azure: 7 days)")
	addDirectoryFlags(f, &c.Directory)
	f.IntVar(&c.MaxConnections, "max-connections", 0, "connections open at once; further clients wait to be accepted (default: below the limit on open files)")
	f.DurationVar(&c.BodyTimeout, "body-timeout", 30*time.Second, "how long a request body may take to arrive (a page upload: this long plus its size at --upload-min-rate); the connection is closed after")
	f.Int64Var(&c.UploadMinRate, "upload-min-rate", 16<<10, "slowest rate, in bytes per second, at which a page upload to the data plane may arrive")
	f.DurationVar(&c.IdleTimeout, "idle-timeout", 2*time.Minute, "how long a kept-alive connection may wait for its next request")
	f.BoolVar(&c.Metrics, "metrics", false, "serve Prometheus metrics at /metrics, to anyone who can reach the listener")
	f.StringArrayVar(&c.RegionBuckets, "region-bucket", nil, "region=bucket-url (file://, azblob://, s3://, mem://), repeatable; default a folder per region under <data>/regions")
}

// Main is a running Galleon: every part, wired by plain assignment.
type Main struct {
	Config Config
	Out    io.Writer

	Logger      *slog.Logger
	Store       *sqlstore.DB
	TLS         *pki.Material
	Issuer      *identity.Issuer
	ARM         *armapi.Server
	Runner      *operations.Runner
	HTTP        *http.Server
	Credentials *Credentials
	Metrics     *prometheus.Registry
	Collector   *replication.Collector
	Purger      *operations.Purger
	Scrubber    *replication.Scrubber
	Blobs       *blobapi.Server
	Graph       *graph.Server
	Portal      *portal.Server
	// Buckets hold each region's image bytes.
	Buckets map[string][]*blob.Bucket
	// Zeros are the checkpoints of hashing zeros that Empty disks use.
	Zeros *chunkstore.ZeroHashes

	listener net.Listener
}

// Open prepares everything up to accepting connections: data folder, store,
// TLS material, signing key, bootstrap, listener.
func (m *Main) Open(ctx context.Context) error {
	c := &m.Config
	var level slog.Level
	if err := level.UnmarshalText([]byte(c.LogLevel)); err != nil {
		return fmt.Errorf("--log-level: %w", err)
	}
	m.Logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
	// Fault injection for crash tests of the built binary; unset in use.
	if err := failpoint.SetupFromEnv(); err != nil {
		return err
	}
	if spec := os.Getenv(failpoint.EnvVar); spec != "" {
		m.Logger.Warn("failpoints armed: this process will fail on purpose", slog.String(failpoint.EnvVar, spec))
	}

	regions, err := parseRegions(c.Regions)
	if err != nil {
		return err
	}
	if c.DataDir, err = filepath.Abs(c.DataDir); err != nil {
		return err
	}
	if err := os.MkdirAll(c.DataDir, 0o700); err != nil {
		return fmt.Errorf("creating data folder: %w", err)
	}
	if c.Database == "" {
		c.Database = filepath.Join(c.DataDir, "galleon.db")
	}
	if c.SoftDeleteRetention <= 0 {
		return errors.New("--soft-delete-retention: must be positive")
	}
	// Before anything opens or writes: a folder whose database is gone
	// must not become a new installation.
	if err := checkDatabaseFile(c.DataDir, c.Database); err != nil {
		return err
	}
	bucketURLs, err := regionBucketURLs(regions, c.RegionBuckets, c.DataDir)
	if err != nil {
		return err
	}
	if m.Buckets, err = openRegionBuckets(ctx, bucketURLs); err != nil {
		return err
	}
	if m.Store, err = sqlstore.Open(ctx, c.Database); err != nil {
		return fmt.Errorf("opening database: %w", err)
	}
	m.Store.Logger = m.Logger
	if err := m.checkInstallation(ctx); err != nil {
		return err
	}

	if m.listener, err = net.Listen("tcp", c.Listen); err != nil {
		return err
	}
	if c.MaxConnections == 0 {
		c.MaxConnections = httplimit.DefaultMaxConnections()
	}
	// A Config built in code rather than from flags gets the flags' limits.
	if c.BodyTimeout == 0 {
		c.BodyTimeout = 30 * time.Second
	}
	if c.UploadMinRate == 0 {
		c.UploadMinRate = 16 << 10
	}
	if c.IdleTimeout == 0 {
		c.IdleTimeout = 2 * time.Minute
	}
	m.listener = httplimit.Listener(m.listener, c.MaxConnections)
	publicURL := strings.TrimSuffix(c.PublicURL, "/")
	if publicURL == "" {
		publicURL = "https://" + m.listener.Addr().String()
	}

	hosts := append([]string{}, c.Hostnames...)
	if h, _, err := net.SplitHostPort(strings.TrimPrefix(publicURL, "https://")); err == nil {
		hosts = append(hosts, h)
	}
	if m.TLS, err = m.sharedTLS(ctx, filepath.Join(c.DataDir, "tls"), hosts); err != nil {
		return fmt.Errorf("TLS material: %w", err)
	}
	cert := m.TLS.Certificate
	if c.TLSCert != "" || c.TLSKey != "" {
		if cert, err = pki.LoadKeyPair(c.TLSCert, c.TLSKey); err != nil {
			return err
		}
	}
	key, err := m.sharedSigningKey(ctx, filepath.Join(c.DataDir, "keys", "token-signing.pem"))
	if err != nil {
		return fmt.Errorf("token signing key: %w", err)
	}
	armAudience := "https://management.core.windows.net/"
	// ARM takes tokens for ARM's audiences (what az, from the cloud's
	// activeDirectoryResourceId, and azidentity, from the ResourceManager
	// service's Audience, ask for; and Azure's public ARM endpoint), Graph
	// only for its own, the server's URL: a token obtained for one is
	// refused by the other. The issuer mints tokens for all of them.
	armAudiences := []string{armAudience, "https://management.azure.com/"}
	m.Issuer = &identity.Issuer{
		Key:       key,
		PublicURL: publicURL,
		Audiences: append(slices.Clone(armAudiences), publicURL+"/"),
		Directory: m.Store,
		Logger:    m.Logger,
	}

	if m.Credentials, err = m.bootstrap(ctx, publicURL, armAudience); err != nil {
		return fmt.Errorf("bootstrap: %w", err)
	}
	if err := recordInstallation(c.DataDir, m.Credentials.TenantID); err != nil {
		return fmt.Errorf("recording the installation in the data folder: %w", err)
	}

	sasKey, err := m.sharedRandomSecret(ctx, "sas-signing-key")
	if err != nil {
		return fmt.Errorf("SAS signing key: %w", err)
	}
	signer := &blobapi.Signer{Key: sasKey}
	m.Metrics = prometheus.NewRegistry()
	m.Metrics.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	counter := chunkCounter(m.Metrics)
	// One table of the digests of runs of zeros serves every region's
	// Empty disks, extended by one worker at about half a core at most.
	m.Zeros = &chunkstore.ZeroHashes{Path: filepath.Join(c.DataDir, "zero-sha256-checkpoints"), Rate: 1 << 30}
	stores := map[string][]*chunkstore.Store{}
	for region, buckets := range m.Buckets {
		for _, b := range buckets {
			stores[region] = append(stores[region], &chunkstore.Store{Bucket: b, Counter: counter, Zeros: m.Zeros})
		}
	}
	guard, err := netguard.NewPolicy(c.ImportAllowHosts)
	if err != nil {
		return fmt.Errorf("--import-allow-hosts: %w", err)
	}
	importer := blobapi.NewImporter(guard)
	disks := &blobapi.Disks{Signer: signer, PublicURL: publicURL, Stores: map[string]*chunkstore.Store{}, AllStores: stores, Importer: importer,
		Generation: m.Store.DiskAccessGeneration}
	for region, ss := range stores {
		disks.Stores[region] = ss[0]
	}
	reconciler := &replication.Reconciler{Store: m.Store, Regions: stores, Logger: m.Logger, Import: importer.ImportVHD}
	m.Blobs = &blobapi.Server{Authorize: signer.Authorize, Upload: disks.Upload, Content: disks.Content, Logger: m.Logger}

	m.Runner = &operations.Runner{
		Store:       m.Store,
		Holder:      nodeID(),
		Lease:       c.WorkLease,
		MaxAttempts: c.WorkMaxAttempts,
		Logger:      m.Logger,
		Handlers: map[string]operations.Handler{
			galleon.OperationDeleteResourceGroup:   operations.DeleteResourceGroup(m.Store, disks),
			galleon.OperationReplicateImageVersion: reconciler.Handle,
		},
	}
	authorizer := &authz.Authorizer{Assignments: m.Store, Roles: m.Store}
	// Group membership comes from the directory when the store keeps groups.
	var groups authz.GroupResolver
	if g, ok := any(m.Store).(authz.GroupResolver); ok {
		authorizer.Groups, groups = g, g
	}
	m.ARM = &armapi.Server{
		Metrics:             armapi.NewMetrics(m.Metrics),
		Store:               m.Store,
		Authorizer:          authorizer,
		Groups:              groups,
		VerifyToken:         m.Issuer.Verifier(armAudiences...),
		Regions:             regions,
		PublicURL:           publicURL,
		AuthorityURL:        publicURL + "/adfs",
		PageSize:            c.PageSize,
		Logger:              m.Logger,
		OperationStarted:    m.Runner.Nudge,
		DiskData:            disks,
		SoftDeleteRetention: c.SoftDeleteRetention,
		Metadata: armapi.CloudMetadata{
			Name:                     "Galleon",
			ResourceManager:          publicURL + "/",
			LoginEndpoint:            publicURL + "/adfs",
			Audiences:                armAudiences,
			GraphEndpoint:            publicURL + "/graph/",
			MicrosoftGraphResourceID: publicURL + "/",
			Gallery:                  publicURL + "/gallery/",
			Portal:                   publicURL + "/",
		},
	}
	if err := m.openDirectory(ctx); err != nil {
		return err
	}
	if err := m.openPortal(ctx); err != nil {
		return err
	}
	bodies := &httplimit.Bodies{
		Timeout: c.BodyTimeout,
		MinRate: c.UploadMinRate,
		// Only the data plane takes large bodies (pages of an upload, up to
		// 4 MiB each); every other body is a form or a JSON document.
		Streaming: func(r *http.Request) bool { return strings.HasPrefix(r.URL.Path, blobapi.PathPrefix) },
	}
	m.HTTP = &http.Server{
		Handler:           bodies.Handler(m.handler()),
		TLSConfig:         &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12},
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       c.IdleTimeout,
		ErrorLog:          slog.NewLogLogger(m.Logger.Handler(), slog.LevelWarn),
	}
	gcBytes := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "galleon_chunk_gc_bytes_total",
		Help: "Bytes of chunks no image referred to, deleted from the region stores by garbage collection.",
	}, []string{"region"})
	m.Metrics.MustRegister(gcBytes)
	tidied := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "galleon_chunk_gc_orphans_total",
		Help: "Manifests no resource owned and stale temporary files, deleted from the region stores by garbage collection.",
	}, []string{"region", "kind"})
	m.Metrics.MustRegister(tidied)
	m.Collector = &replication.Collector{Regions: stores, Interval: c.GCInterval, Logger: m.Logger, Owners: m.Store,
		Collected: func(region string, st chunkstore.GCStats) {
			gcBytes.WithLabelValues(region).Add(float64(st.BytesDeleted))
		},
		Tidied: func(region string, manifests, temps int, _ int64) {
			tidied.WithLabelValues(region, "manifest").Add(float64(manifests))
			tidied.WithLabelValues(region, "temp").Add(float64(temps))
		}}
	// Expired soft-deleted versions are purged within a minute (one
	// indexed query when there are none), before the collector can count
	// their chunks as garbage.
	m.Purger = &operations.Purger{Store: m.Store, Data: disks, Interval: time.Minute, Logger: m.Logger}
	m.Scrubber = &replication.Scrubber{Store: m.Store, Regions: stores, Interval: c.ScrubInterval, Rate: c.ScrubRate,
		SubscriptionID: m.Credentials.SubscriptionID, Metrics: replication.NewScrubMetrics(m.Metrics), Logger: m.Logger}
	// Every background component has Open and Close; Close undoes
	// whatever Open started, in reverse order.
	for _, c := range []interface{ Open() error }{m.Runner, m.Collector, m.Purger, m.Scrubber} {
		if err := c.Open(); err != nil {
			return err
		}
	}
	return nil
}

// sharedTLS returns this node's TLS material, signed by the installation's
// one CA: the first node to start stores its CA in the database, and every
// other node installs that CA and issues its server certificate from it.
func (m *Main) sharedTLS(ctx context.Context, dir string, hosts []string) (*pki.Material, error) {
	now := time.Now()
	local, err := pki.LoadOrCreateCABundle(dir, now)
	if err != nil {
		return nil, err
	}
	shared, err := m.Store.LoadOrStoreSecret(ctx, "ca-bundle", string(local))
	if err != nil {
		return nil, err
	}
	if shared != string(local) {
		if err := pki.InstallCA(dir, []byte(shared)); err != nil {
			return nil, err
		}
	}
	return pki.LoadOrCreate(dir, hosts, now)
}

// sharedSigningKey returns the installation's token signing key, kept in
// the database so a token issued by one node verifies on every other, and
// copied to the data folder.
func (m *Main) sharedSigningKey(ctx context.Context, path string) (*rsa.PrivateKey, error) {
	key, err := identity.LoadOrCreateSigningKey(path)
	if err != nil {
		return nil, err
	}
	local := string(identity.EncodeSigningKey(key))
	shared, err := m.Store.LoadOrStoreSecret(ctx, "token-signing-key", local)
	if err != nil || shared == local {
		return key, err
	}
	if key, err = identity.ParseSigningKey([]byte(shared)); err != nil {
		return nil, err
	}
	return key, identity.WriteSigningKey(path, key)
}

// sharedRandomSecret returns the installation's random 32-byte secret
// called name, created by whichever node asks first.
func (m *Main) sharedRandomSecret(ctx context.Context, name string) ([]byte, error) {
	candidate := make([]byte, 32)
	if _, err := rand.Read(candidate); err != nil {
		return nil, err
	}
	shared, err := m.Store.LoadOrStoreSecret(ctx, name, base64.StdEncoding.EncodeToString(candidate))
	if err != nil {
		return nil, err
	}
	return base64.StdEncoding.DecodeString(shared)
}

// chunkCounter exports what the chunk stores move: a restarted
// replication shows here that chunks copied before were not copied again.
func chunkCounter(reg prometheus.Registerer) chunkstore.Counter {
	chunks := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "galleon_chunk_store_chunks_total",
		Help: "Chunks ingested or copied into region stores, by operation and whether they were written or found present.",
	}, []string{"op", "result"})
	bytes := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "galleon_chunk_store_bytes_total",
		Help: "Bytes of chunks ingested or copied into region stores, by operation and whether they were written or found present.",
	}, []string{"op", "result"})
	reg.MustRegister(chunks, bytes)
	return func(op chunkstore.Op, d chunkstore.Stats) {
		o := string(op)
		chunks.WithLabelValues(o, "written").Add(float64(d.ChunksCopied))
		chunks.WithLabelValues(o, "present").Add(float64(d.ChunksSkipped))
		bytes.WithLabelValues(o, "written").Add(float64(d.BytesCopied))
		bytes.WithLabelValues(o, "present").Add(float64(d.BytesSkipped))
	}
}

// nodeID names this process in work leases.
func nodeID() string {
	host, _ := os.Hostname()
	return host + "-" + uuid.NewString()[:8]
}

// handler routes each request to the part that owns its path.
func (m *Main) handler() http.Handler {
	arm := m.ARM.Handler()
	ident := m.Issuer.Handler()
	metrics := promhttp.HandlerFor(m.Metrics, promhttp.HandlerOpts{})
	blobs := m.Blobs.Handler()
	directory := m.Graph.Handler()
	ui := m.Portal.Handler()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/metrics" && m.Config.Metrics {
			metrics.ServeHTTP(w, r)
			return
		}
		if r.URL.Path == healthPath {
			m.serveHealth(w, r)
			return
		}
		if strings.HasPrefix(r.URL.Path, blobapi.PathPrefix) {
			blobs.ServeHTTP(w, r)
			return
		}
		if graph.Owns(r.URL.Path) {
			directory.ServeHTTP(w, r)
			return
		}
		if armapi.Owns(r.URL.Path) {
			arm.ServeHTTP(w, r)
			return
		}
		if portal.Owns(r.URL.Path) {
			ui.ServeHTTP(w, r)
			return
		}
		ident.ServeHTTP(w, r)
	})
}

// Run serves until ctx is done, then shuts down gracefully.
func (m *Main) Run(ctx context.Context) error {
	printGettingStarted(m.Out, m.Credentials, filepath.Join(m.Config.DataDir, credentialsFile))
	m.Logger.Info("serving", slog.String("url", m.ARM.PublicURL), slog.String("data", m.Config.DataDir))
	errc := make(chan error, 1)
	go func() { errc <- m.HTTP.ServeTLS(m.listener, "", "") }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	m.Logger.Info("shutting down")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	if err := m.HTTP.Shutdown(shutdownCtx); err != nil {
		return err
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// Close releases everything Open acquired; it is safe after a failed Open.
func (m *Main) Close() error {
	var errs []error
	if m.Scrubber != nil {
		errs = append(errs, m.Scrubber.Close())
	}
	if m.Purger != nil {
		errs = append(errs, m.Purger.Close())
	}
	if m.Collector != nil {
		errs = append(errs, m.Collector.Close())
	}
	if m.Runner != nil {
		errs = append(errs, m.Runner.Close())
	}
	if m.listener != nil {
		m.listener.Close()
	}
	if m.Store != nil {
		errs = append(errs, m.Store.Close())
	}
	if m.Zeros != nil {
		errs = append(errs, m.Zeros.Close())
	}
	errs = append(errs, closeRegionBuckets(m.Buckets))
	return errors.Join(errs...)
}

func parseRegions(names []string) (galleon.Regions, error) {
	var rs galleon.Regions
	seen := map[string]bool{}
	for _, n := range names {
		name := galleon.NormalizeLocation(n)
		if name == "" || seen[name] {
			continue
		}
		for _, r := range name {
			if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9') {
				return nil, fmt.Errorf("--regions: %q is not a region name (letters and digits only)", n)
			}
		}
		seen[name] = true
		rs = append(rs, galleon.Region{Name: name, DisplayName: galleon.DisplayNameFor(name)})
	}
	if len(rs) == 0 {
		return nil, errors.New("--regions: at least one region is required")
	}
	return rs, nil
}

// healthPath answers whether this node can serve: 200 "ok", or 503 with
// why not (its database unreachable, or its SQLite file removed or
// replaced under it, when every write fails). For load balancers and
// readiness probes; it needs no token and tells nothing but that.
const healthPath = "/healthz"

func (m *Main) serveHealth(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	ctx, cancel := context.WithTimeout(r.Context(), 5*time.Second)
	defer cancel()
	if err := m.Store.Health(ctx); err != nil {
		w.WriteHeader(http.StatusServiceUnavailable)
		var e *galleon.Error
		if errors.As(err, &e) {
			fmt.Fprintln(w, e.Message)
		} else {
			fmt.Fprintln(w, "The database is unreachable.")
		}
		return
	}
	fmt.Fprintln(w, "ok")
}
