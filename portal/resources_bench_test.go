package portal

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"path/filepath"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/arm"
	"github.com/google/uuid"

	"github.com/galleon-project/galleon"
	"github.com/galleon-project/galleon/armapi"
	"github.com/galleon-project/galleon/authz"
	"github.com/galleon-project/galleon/pgtest"
	"github.com/galleon-project/galleon/sqlstore"
	"github.com/galleon-project/galleon/storetest"
)

// walkAllResources is how All resources was listed before ARM's generic
// resource list, kept here as the benchmark's baseline: per subscription
// the disk, snapshot and image lists, the galleries, then one list of
// definitions per gallery and one of versions per definition.
func walkAllResources(ctx context.Context, c *client) ([]resourceRow, error) {
	subs, err := subscriptions(ctx, c)
	if err != nil {
		return nil, err
	}
	var rows []resourceRow
	add := func(id, location, typ, sub string) {
		rid, err := arm.ParseResourceID(id)
		if err != nil {
			return
		}
		rows = append(rows, resourceRow{ID: id, Name: rid.Name, Type: typ, ResourceGroup: rid.ResourceGroupName,
			Location: location, Subscription: sub})
	}
	for _, sub := range subs {
		disks, err := disksUnder(ctx, c, "/subscriptions/"+sub.SubscriptionID, sub.DisplayName)
		if err != nil {
			return nil, err
		}
		rows = append(rows, disks...)
		gs, err := galleriesIn(ctx, c, sub.SubscriptionID)
		if forbidden(err) {
			continue
		} else if err != nil {
			return nil, err
		}
		for _, g := range gs {
			add(g.ID, g.Location, "Azure compute gallery", sub.DisplayName)
			imgs, err := imagesIn(ctx, c, g.ID)
			if forbidden(err) {
				continue
			} else if err != nil {
				return nil, err
			}
			for _, d := range imgs {
				add(d.ID, d.Location, "VM image definition", sub.DisplayName)
				vs, err := versionsIn(ctx, c, d.ID)
				if forbidden(err) {
					continue
				} else if err != nil {
					return nil, err
				}
				for _, v := range vs {
					add(v.ID, v.Location, "VM image version", sub.DisplayName)
				}
			}
		}
	}
	sortRows(rows)
	return rows, nil
}

// countingHandler counts the requests a page makes of ARM.
type countingHandler struct {
	http.Handler
	n atomic.Int64
}

func (h *countingHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h.n.Add(1)
	h.Handler.ServeHTTP(w, r)
}

// BenchmarkAllResources measures what All resources costs the portal for
// a subscription of 50 galleries with 4 image definitions of 2 versions
// each (650 resources), through the real ARM handler on a real store, in
// process as the portal calls it: the N+1 walk it made before (baseline)
// against one generic resource list, in the same run, on SQLite and on
// PostgreSQL. The subscription's Owner sees all 650; a Reader of one
// gallery sees its 13. Each pair's ratio is logged:
//
//	go test -run '^$' -bench AllResources -v ./portal   # -v prints the ratios
func BenchmarkAllResources(b *testing.B) {
	const galleries, definitions, versions = 50, 4, 2
	for _, db := range []string{"sqlite", "postgres"} {
		b.Run(db, func(b *testing.B) {
			var store *sqlstore.DB
			var err error
			if db == "sqlite" {
				store, err = sqlstore.Open(context.Background(), filepath.Join(b.TempDir(), "galleon.db"))
			} else {
				store, err = sqlstore.Open(context.Background(), pgtest.NewDatabase(b))
			}
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { store.Close() })
			boot := storetest.NewBootstrap()
			if created, err := store.Bootstrap(context.Background(), boot); err != nil || !created {
				b.Fatalf("Bootstrap() = %v, %v", created, err)
			}
			f := &storetest.Fixture{Store: store, Bootstrap: boot, Sub: boot.Subscription.ID}
			seedGalleries(b, f, galleries, definitions, versions)
			reader := galleon.Principal{ObjectID: uuid.NewString(), TenantID: f.Bootstrap.Tenant.ID, Type: galleon.PrincipalUser,
				UserPrincipalName: "reader@example.test", DisplayName: "Reader"}
			if _, err := store.CreateRoleAssignment(context.Background(), &galleon.RoleAssignment{Name: uuid.NewString(),
				Scope: f.Gallery("rg", "gallery07").String(), RoleDefinitionID: galleon.RoleDefinitionID(f.Sub, galleon.RoleReader),
				PrincipalID: reader.ObjectID, PrincipalType: galleon.PrincipalUser, CreatedOn: time.Now().UTC(), CreatedBy: "bench"}); err != nil {
				b.Fatal(err)
			}
			principals := map[string]galleon.Principal{"owner": f.Bootstrap.ServicePrincipal, "reader": reader}
			s := &armapi.Server{
				Store:      store,
				Authorizer: &authz.Authorizer{Assignments: store, Roles: store},
				VerifyToken: func(token string) (galleon.Principal, error) {
					if p, ok := principals[token]; ok {
						return p, nil
					}
					return galleon.Principal{}, fmt.Errorf("unknown token %q", token)
				},
				Regions:   galleon.Regions{{Name: "eastus", DisplayName: "East US"}},
				PublicURL: "https://galleon.example",
				Logger:    slog.New(slog.NewTextHandler(io.Discard, nil)),
			}
			counter := &countingHandler{Handler: s.Handler()}
			for _, who := range []struct {
				token string
				rows  int
			}{{"owner", galleries * (1 + definitions*(1+versions))}, {"reader", 1 + definitions*(1+versions)}} {
				b.Run(who.token, func(b *testing.B) {
					c := &client{handler: counter, token: who.token}
					ctx := context.Background()
					// Both ways list the same rows.
					before, err := walkAllResources(ctx, c)
					if err != nil {
						b.Fatal(err)
					}
					after, err := listAllResources(ctx, c)
					if err != nil {
						b.Fatal(err)
					}
					if len(after) != who.rows || !slices.Equal(before, after) {
						b.Fatalf("the generic list gives %d rows, the walk %d; want the same %d", len(after), len(before), who.rows)
					}
					var perOp [2]time.Duration
					for i, way := range []struct {
						name string
						list func(context.Context, *client) ([]resourceRow, error)
					}{{"baseline-N+1-walk", walkAllResources}, {"one-list", listAllResources}} {
						b.Run(way.name, func(b *testing.B) {
							counter.n.Store(0)
							start := time.Now()
							for b.Loop() {
								if _, err := way.list(ctx, c); err != nil {
									b.Fatal(err)
								}
							}
							perOp[i] = time.Since(start) / time.Duration(b.N)
							b.ReportMetric(float64(counter.n.Load())/float64(b.N), "ARM-calls/op")
						})
					}
					if perOp[0] > 0 && perOp[1] > 0 {
						b.Logf("%s, %s: N+1 walk %v/op, one list %v/op: %.1f× as fast", db, who.token, perOp[0], perOp[1],
							float64(perOp[0])/float64(perOp[1]))
					}
				})
			}
		})
	}
}

// seedGalleries stores galleries gallery00… in group rg, each with
// definitions of versions, straight into the store.
func seedGalleries(b *testing.B, f *storetest.Fixture, galleries, definitions, versions int) {
	b.Helper()
	ctx := context.Background()
	if _, _, err := f.Store.PutResourceGroup(ctx, f.RG("rg"), func(*galleon.ResourceGroup) (*galleon.ResourceGroup, error) {
		return &galleon.ResourceGroup{ID: f.RG("rg"), Location: "eastus", ProvisioningState: galleon.ProvisioningSucceeded}, nil
	}); err != nil {
		b.Fatal(err)
	}
	for g := range galleries {
		gallery := fmt.Sprintf("gallery%02d", g)
		if _, _, err := f.PutGallery(f.Gallery("rg", gallery), ""); err != nil {
			b.Fatal(err)
		}
		for d := range definitions {
			image := fmt.Sprintf("image%d", d)
			if _, _, err := f.PutImage(f.Image("rg", gallery, image), "pub", "offer", image); err != nil {
				b.Fatal(err)
			}
			for v := range versions {
				if _, _, err := f.PutVersion(f.Version("rg", gallery, image, fmt.Sprintf("1.0.%d", v)), ""); err != nil {
					b.Fatal(err)
				}
			}
		}
	}
}
