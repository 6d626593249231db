package authz_test

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/galleon-project/galleon"
	"github.com/galleon-project/galleon/authz"
	"github.com/galleon-project/galleon/pgtest"
	"github.com/galleon-project/galleon/sqlstore"
	"github.com/galleon-project/galleon/storetest"
)

// BenchmarkAuthorize measures the authorization check every ARM request
// makes, against a real store holding 10,000 role assignments: 1,000
// principals with ten each, at the subscription, group, gallery and
// definition scopes, plus a custom role. The caller holds ten of them and
// is denied at the scope asked (the worst case: every grant is
// evaluated). The baseline, measured in the same run, is GetSubscription,
// the one store read every request makes before authorizing:
//
//	go test -run '^$' -bench Authorize ./authz
func BenchmarkAuthorize(b *testing.B) {
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
			sub := boot.Subscription.ID
			caller, scope := seedAssignments(b, store, sub)
			a := &authz.Authorizer{Assignments: store, Roles: store}
			ctx := context.Background()
			b.Run("baseline-GetSubscription", func(b *testing.B) {
				for b.Loop() {
					if _, err := store.GetSubscription(ctx, sub); err != nil {
						b.Fatal(err)
					}
				}
			})
			b.Run("Authorize-allowed", func(b *testing.B) {
				for b.Loop() {
					if err := a.Authorize(ctx, caller, "Microsoft.Compute/galleries/images/read", scope); err != nil {
						b.Fatal(err)
					}
				}
			})
			b.Run("Authorize-denied", func(b *testing.B) {
				for b.Loop() {
					if err := a.Authorize(ctx, caller, "Microsoft.Authorization/roleAssignments/write", scope); galleon.ErrorCode(err) != galleon.CodeAuthorizationFailed {
						b.Fatal(err)
					}
				}
			})
		})
	}
}

// seedAssignments stores 10,000 assignments and returns a principal that
// holds ten of them and a scope where one of them grants read.
func seedAssignments(b *testing.B, store *sqlstore.DB, sub string) (galleon.Principal, string) {
	b.Helper()
	ctx := context.Background()
	custom := &galleon.RoleDefinition{ID: uuid.NewString(), RoleName: "Bench role", RoleType: galleon.CustomRole,
		Permissions:      []galleon.RolePermission{{Actions: []string{"Microsoft.Compute/galleries/*"}, NotActions: []string{"Microsoft.Compute/galleries/delete"}}},
		AssignableScopes: []string{galleon.SubscriptionScope(sub)}}
	if _, err := store.PutRoleDefinition(ctx, custom, sub, nil); err != nil {
		b.Fatal(err)
	}
	roles := []string{galleon.RoleReader, galleon.RoleContributor, custom.ID, galleon.RoleComputeGallerySharingAdmin}
	now := time.Now().UTC()
	var caller string
	var scope string
	for p := range 1000 {
		principal := uuid.NewString()
		if p == 500 {
			caller = principal
		}
		for i := range 10 {
			s := fmt.Sprintf("%s/resourceGroups/rg%d/providers/Microsoft.Compute/galleries/g%d/images/i%d", galleon.SubscriptionScope(sub), p, i, i)
			if p == 500 && i == 9 {
				scope = s + "/versions/1.0.0"
			}
			a := &galleon.RoleAssignment{Name: uuid.NewString(), Scope: s, RoleDefinitionID: galleon.RoleDefinitionID(sub, roles[(p+i)%len(roles)]),
				PrincipalID: principal, PrincipalType: galleon.PrincipalUser, CreatedOn: now, CreatedBy: "bench"}
			if _, err := store.CreateRoleAssignment(ctx, a); err != nil {
				b.Fatal(err)
			}
		}
	}
	return galleon.Principal{ObjectID: caller, Type: galleon.PrincipalUser}, scope
}
