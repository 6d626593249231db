package storetest

import (
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/galleon-project/galleon"
)

// testDirectory holds stores to galleon.DirectoryAdminStore.
func testDirectory(t *testing.T, open Opener) {
	t.Run("Users", func(t *testing.T) { testDirectoryUsers(t, open) })
	t.Run("Groups", func(t *testing.T) { testDirectoryGroups(t, open) })
	t.Run("Applications", func(t *testing.T) { testDirectoryApplications(t, open) })
	t.Run("Invitations", func(t *testing.T) { testDirectoryInvitations(t, open) })
	t.Run("Tenants", func(t *testing.T) { testDirectoryTenants(t, open) })
}

// testDirectoryTenants holds the store to one directory per tenant: a
// tenantId clause narrows every list to one tenant, a group's members
// are of its tenant, and invitations list by their guests' tenant.
func testDirectoryTenants(t *testing.T, open Opener) {
	f := MustFixture(t, open)
	home := f.Bootstrap.Tenant.ID
	other := f.MustCreateTenant(t, "other.example")
	ot := other.Tenant.ID
	now := time.Now().UTC().Truncate(time.Millisecond)
	homeUser := f.mustCreateUser(t, "carol@example.test", "Carol")
	otherUser := f.newUser("dave@other.example", "Dave")
	otherUser.TenantID = ot
	if err := f.Store.CreateUser(ctx(), otherUser); err != nil {
		t.Fatal(err)
	}
	homeGroup := f.mustCreateGroup(t, "Home group")
	otherGroup := &galleon.Group{ObjectID: uuid.NewString(), TenantID: ot, DisplayName: "Other group", MailNickname: "other", SecurityEnabled: true}
	if err := f.Store.CreateGroup(ctx(), otherGroup); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct{ tenant, app string }{{home, "home-app"}, {ot, "other-app"}} {
		a := &galleon.Application{ObjectID: uuid.NewString(), TenantID: tt.tenant, AppID: uuid.NewString(), DisplayName: tt.app}
		if err := f.Store.CreateApplication(ctx(), a); err != nil {
			t.Fatal(err)
		}
	}
	in := func(tenant string) galleon.DirectoryFilter {
		return galleon.DirectoryFilter{{Field: galleon.FieldTenantID, Op: galleon.FilterEq, Value: tenant}}
	}

	t.Run("Lists", func(t *testing.T) {
		for _, tt := range []struct {
			tenant                   string
			users, groups, apps, sps []string
		}{
			{home, []string{f.Bootstrap.Admin.UserPrincipalName, "carol@example.test"}, []string{"Home group"}, []string{"home-app"},
				[]string{f.Bootstrap.ServicePrincipal.DisplayName}},
			{ot, []string{"dave@other.example"}, []string{"Other group"}, []string{"other-app"}, []string{other.ServicePrincipal.DisplayName}},
			{uuid.NewString(), nil, nil, nil, nil},
		} {
			users, _, err := f.Store.ListUsers(ctx(), in(tt.tenant), galleon.Page{})
			got := userUPNs(users)
			slices.Sort(got)
			want := slices.Clone(tt.users)
			slices.Sort(want)
			if err != nil || !slices.Equal(got, want) {
				t.Errorf("ListUsers(tenant %s) = %v, %v; want %v", tt.tenant, got, err, want)
			}
			groups, _, err := f.Store.ListGroups(ctx(), in(tt.tenant), galleon.Page{})
			if got := names(groups, func(g *galleon.Group) string { return g.DisplayName }); err != nil || !slices.Equal(got, tt.groups) {
				t.Errorf("ListGroups(tenant %s) = %v, %v; want %v", tt.tenant, got, err, tt.groups)
			}
			apps, _, err := f.Store.ListApplications(ctx(), in(tt.tenant), galleon.Page{})
			if got := names(apps, func(a *galleon.Application) string { return a.DisplayName }); err != nil || !slices.Equal(got, tt.apps) {
				t.Errorf("ListApplications(tenant %s) = %v, %v; want %v", tt.tenant, got, err, tt.apps)
			}
			sps, _, err := f.Store.ListServicePrincipals(ctx(), in(tt.tenant), galleon.Page{})
			if got := names(sps, func(sp *galleon.ServicePrincipal) string { return sp.DisplayName }); err != nil || !slices.Equal(got, tt.sps) {
				t.Errorf("ListServicePrincipals(tenant %s) = %v, %v; want %v", tt.tenant, got, err, tt.sps)
			}
		}
		// With another clause, the tenant still narrows.
		users, _, err := f.Store.ListUsers(ctx(), append(in(home), galleon.FilterClause{Field: galleon.FieldUserPrincipalName, Op: galleon.FilterEq, Value: "dave@other.example"}), galleon.Page{})
		if err != nil || len(users) != 0 {
			t.Errorf("ListUsers(home, dave) = %v, %v; want none", userUPNs(users), err)
		}
	})
	t.Run("GroupMembersOfOneTenant", func(t *testing.T) {
		wantCode(t, "another tenant's user in a group", f.Store.AddGroupMember(ctx(), homeGroup.ObjectID, otherUser.ObjectID), galleon.CodeResourceNotFound)
		wantCode(t, "a user in another tenant's group", f.Store.AddGroupMember(ctx(), otherGroup.ObjectID, homeUser.ObjectID), galleon.CodeResourceNotFound)
		wantCode(t, "another tenant's group in a group", f.Store.AddGroupMember(ctx(), homeGroup.ObjectID, otherGroup.ObjectID), galleon.CodeResourceNotFound)
		if err := f.Store.AddGroupMember(ctx(), otherGroup.ObjectID, otherUser.ObjectID); err != nil {
			t.Fatalf("AddGroupMember within the other tenant: %v", err)
		}
		if groups, err := f.Store.TransitiveGroupsOf(ctx(), homeUser.ObjectID); err != nil || len(groups) != 0 {
			t.Errorf("TransitiveGroupsOf(home user) = %v, %v; want none", groups, err)
		}
	})
	t.Run("Invitations", func(t *testing.T) {
		for _, tt := range []struct{ tenant, domain, email string }{{home, f.Bootstrap.Tenant.Domain, "x@guest.example"}, {ot, "other.example", "x@guest.example"}} {
			guest := &galleon.DirectoryUser{Principal: galleon.Principal{ObjectID: uuid.NewString(), TenantID: tt.tenant, Type: galleon.PrincipalUser,
				UserPrincipalName: galleon.GuestPrincipalName(tt.email, tt.domain), DisplayName: tt.email}, Mail: tt.email,
				UserType: galleon.UserTypeGuest, ExternalUserState: galleon.ExternalStatePending, AccountEnabled: true}
			inv := &galleon.Invitation{ID: uuid.NewString(), UserID: guest.ObjectID, Email: tt.email, InviterID: "i", Status: galleon.InvitationPending,
				TokenID: uuid.NewString(), TokenExpiresAt: now.Add(time.Hour)}
			if err := f.Store.CreateInvitation(ctx(), inv, guest); err != nil {
				t.Fatalf("CreateInvitation in %s: %v", tt.domain, err)
			}
		}
		for _, tenant := range []string{home, ot} {
			invs, _, err := f.Store.ListInvitations(ctx(), tenant, galleon.Page{})
			if err != nil || len(invs) != 1 {
				t.Fatalf("ListInvitations(%s) = %+v, %v; want its one invitation", tenant, invs, err)
			}
			u, err := f.Store.GetUser(ctx(), invs[0].UserID)
			if err != nil || u.TenantID != tenant {
				t.Errorf("ListInvitations(%s) lists the guest %+v (%v) of another tenant", tenant, u, err)
			}
		}
		if invs, _, err := f.Store.ListInvitations(ctx(), uuid.NewString(), galleon.Page{}); err != nil || len(invs) != 0 {
			t.Errorf("ListInvitations(unknown tenant) = %+v, %v; want none", invs, err)
		}
	})
}

func (f *Fixture) newUser(upn, name string) *galleon.DirectoryUser {
	return &galleon.DirectoryUser{
		Principal: galleon.Principal{ObjectID: uuid.NewString(), TenantID: f.Bootstrap.Tenant.ID, Type: galleon.PrincipalUser,
			UserPrincipalName: upn, DisplayName: name},
		PasswordHash: "h-" + upn, Mail: upn, MailNickname: name, UserType: galleon.UserTypeMember, AccountEnabled: true,
	}
}

func (f *Fixture) mustCreateUser(t *testing.T, upn, name string) *galleon.DirectoryUser {
	t.Helper()
	u := f.newUser(upn, name)
	if err := f.Store.CreateUser(ctx(), u); err != nil {
		t.Fatalf("CreateUser(%s): %v", upn, err)
	}
	return u
}

func (f *Fixture) mustCreateGroup(t *testing.T, name string) *galleon.Group {
	t.Helper()
	g := &galleon.Group{ObjectID: uuid.NewString(), TenantID: f.Bootstrap.Tenant.ID, DisplayName: name, MailNickname: name, SecurityEnabled: true}
	if err := f.Store.CreateGroup(ctx(), g); err != nil {
		t.Fatalf("CreateGroup(%s): %v", name, err)
	}
	return g
}

func userUPNs(us []galleon.DirectoryUser) []string {
	return names(us, func(u *galleon.DirectoryUser) string { return u.UserPrincipalName })
}

func testDirectoryUsers(t *testing.T, open Opener) {
	f := MustFixture(t, open)
	alice := f.mustCreateUser(t, "Alice@example.test", "Alice Liddell")
	f.mustCreateUser(t, "bob@example.test", "Bob")
	f.mustCreateUser(t, "alfred@example.test", "Alfred")

	t.Run("OK", func(t *testing.T) {
		for _, key := range []string{alice.ObjectID, "ALICE@example.test"} {
			got, err := f.Store.GetUser(ctx(), key)
			if err != nil || got.ObjectID != alice.ObjectID || got.UserPrincipalName != "Alice@example.test" || got.DisplayName != "Alice Liddell" ||
				got.PasswordHash != "h-Alice@example.test" || !got.AccountEnabled || got.UserType != galleon.UserTypeMember || got.CreatedAt.IsZero() {
				t.Fatalf("GetUser(%s) = %+v, %v", key, got, err)
			}
		}
		// The bootstrap admin is a member user too.
		admin, err := f.Store.GetUser(ctx(), f.Bootstrap.Admin.ObjectID)
		if err != nil || admin.UserType != galleon.UserTypeMember || !admin.AccountEnabled {
			t.Fatalf("GetUser(admin) = %+v, %v", admin, err)
		}
		u, err := f.Store.UserForSignIn(ctx(), "alice@EXAMPLE.test")
		if err != nil || u.ObjectID != alice.ObjectID {
			t.Fatalf("UserForSignIn = %+v, %v", u, err)
		}
	})
	t.Run("List", func(t *testing.T) {
		all, next, err := f.Store.ListUsers(ctx(), nil, galleon.Page{Limit: 100})
		if err != nil || next != "" || !slices.Equal(userUPNs(all), []string{"Admin@Example.test", "alfred@example.test", "Alice@example.test", "bob@example.test"}) {
			t.Fatalf("ListUsers() = %v, %q, %v", userUPNs(all), next, err)
		}
		for _, tc := range []struct {
			filter galleon.DirectoryFilter
			want   []string
		}{
			{galleon.DirectoryFilter{{Field: galleon.FieldUserPrincipalName, Op: galleon.FilterEq, Value: "BOB@example.test"}}, []string{"bob@example.test"}},
			{galleon.DirectoryFilter{{Field: galleon.FieldDisplayName, Op: galleon.FilterStartsWith, Value: "al"}}, []string{"alfred@example.test", "Alice@example.test"}},
			{galleon.DirectoryFilter{{Field: galleon.FieldDisplayName, Op: galleon.FilterStartsWith, Value: "al"},
				{Field: galleon.FieldMail, Op: galleon.FilterEq, Value: "alice@example.test"}}, []string{"Alice@example.test"}},
			{galleon.DirectoryFilter{{Field: galleon.FieldUserType, Op: galleon.FilterEq, Value: "guest"}}, nil},
		} {
			got, _, err := f.Store.ListUsers(ctx(), tc.filter, galleon.Page{})
			if err != nil || !slices.Equal(userUPNs(got), tc.want) {
				t.Errorf("ListUsers(%v) = %v, %v; want %v", tc.filter, userUPNs(got), err, tc.want)
			}
		}
		var pages [][]string
		page := galleon.Page{Limit: 3}
		for {
			us, next, err := f.Store.ListUsers(ctx(), nil, page)
			if err != nil {
				t.Fatal(err)
			}
			pages = append(pages, userUPNs(us))
			if next == "" {
				break
			}
			page.After = next
		}
		if len(pages) != 2 || len(pages[0]) != 3 || len(pages[1]) != 1 {
			t.Errorf("pages of 3: %v", pages)
		}
	})
	t.Run("Update", func(t *testing.T) {
		u, err := f.Store.UpdateUser(ctx(), alice.ObjectID, func(u *galleon.DirectoryUser) (*galleon.DirectoryUser, error) {
			u.DisplayName, u.AccountEnabled, u.ObjectID = "Alice L.", false, "ignored"
			return u, nil
		})
		if err != nil || u.ObjectID != alice.ObjectID || u.DisplayName != "Alice L." || u.AccountEnabled {
			t.Fatalf("UpdateUser() = %+v, %v", u, err)
		}
		got, _ := f.Store.GetUser(ctx(), alice.ObjectID)
		if got.DisplayName != "Alice L." || got.AccountEnabled {
			t.Fatalf("after UpdateUser: %+v", got)
		}
		_, err = f.Store.UpdateUser(ctx(), alice.ObjectID, func(u *galleon.DirectoryUser) (*galleon.DirectoryUser, error) {
			u.UserPrincipalName = "BOB@example.test"
			return u, nil
		})
		wantCode(t, "renaming onto a taken principal name", err, galleon.CodeConflict)
	})
	t.Run("ErrConflict", func(t *testing.T) {
		err := f.Store.CreateUser(ctx(), f.newUser("ALICE@EXAMPLE.TEST", "Other"))
		wantCode(t, "CreateUser with a taken name", err, galleon.CodeConflict)
	})
	t.Run("ErrNotFound", func(t *testing.T) {
		_, err := f.Store.GetUser(ctx(), "nobody@example.test")
		wantCode(t, "GetUser", err, galleon.CodeResourceNotFound)
		_, err = f.Store.UpdateUser(ctx(), uuid.NewString(), func(u *galleon.DirectoryUser) (*galleon.DirectoryUser, error) { return u, nil })
		wantCode(t, "UpdateUser", err, galleon.CodeResourceNotFound)
		// A group is not a user.
		g := f.mustCreateGroup(t, "notauser")
		_, err = f.Store.GetUser(ctx(), g.ObjectID)
		wantCode(t, "GetUser(group)", err, galleon.CodeResourceNotFound)
	})
	t.Run("Delete", func(t *testing.T) {
		carol := f.mustCreateUser(t, "carol@example.test", "Carol")
		g := f.mustCreateGroup(t, "carols")
		if err := f.Store.AddGroupMember(ctx(), g.ObjectID, carol.ObjectID); err != nil {
			t.Fatal(err)
		}
		if ok, err := f.Store.DeleteUser(ctx(), carol.ObjectID); err != nil || !ok {
			t.Fatalf("DeleteUser() = %v, %v", ok, err)
		}
		if ok, err := f.Store.DeleteUser(ctx(), carol.ObjectID); err != nil || ok {
			t.Fatalf("second DeleteUser() = %v, %v", ok, err)
		}
		members, _, err := f.Store.ListGroupMembers(ctx(), g.ObjectID, galleon.Page{})
		if err != nil || len(members) != 0 {
			t.Fatalf("members after the user's deletion: %v, %v", members, err)
		}
	})
}

func testDirectoryGroups(t *testing.T, open Opener) {
	f := MustFixture(t, open)
	u := f.mustCreateUser(t, "dana@example.test", "Dana")
	inner, middle, outer := f.mustCreateGroup(t, "Inner"), f.mustCreateGroup(t, "Middle"), f.mustCreateGroup(t, "Outer")
	sp := f.Bootstrap.ServicePrincipal

	t.Run("Members", func(t *testing.T) {
		for _, m := range []struct{ group, member string }{
			{inner.ObjectID, u.ObjectID}, {inner.ObjectID, sp.ObjectID}, {middle.ObjectID, inner.ObjectID}, {outer.ObjectID, middle.ObjectID},
		} {
			if err := f.Store.AddGroupMember(ctx(), m.group, m.member); err != nil {
				t.Fatalf("AddGroupMember(%s, %s): %v", m.group, m.member, err)
			}
		}
		members, next, err := f.Store.ListGroupMembers(ctx(), inner.ObjectID, galleon.Page{})
		if err != nil || next != "" || len(members) != 2 {
			t.Fatalf("ListGroupMembers = %+v, %q, %v", members, next, err)
		}
		types := []string{members[0].Type, members[1].Type}
		slices.Sort(types)
		if !slices.Equal(types, []string{galleon.PrincipalServicePrincipal, galleon.PrincipalUser}) {
			t.Errorf("member types %v", types)
		}
		page1, next, err := f.Store.ListGroupMembers(ctx(), inner.ObjectID, galleon.Page{Limit: 1})
		if err != nil || len(page1) != 1 || next == "" {
			t.Fatalf("first page of one: %v, %q, %v", page1, next, err)
		}
		page2, next2, err := f.Store.ListGroupMembers(ctx(), inner.ObjectID, galleon.Page{Limit: 1, After: next})
		if err != nil || len(page2) != 1 || next2 != "" || page2[0].ObjectID() == page1[0].ObjectID() {
			t.Fatalf("second page of one: %v, %q, %v", page2, next2, err)
		}
	})
	t.Run("Transitive", func(t *testing.T) {
		got, err := f.Store.TransitiveGroupsOf(ctx(), u.ObjectID)
		want := []string{inner.ObjectID, middle.ObjectID, outer.ObjectID}
		slices.Sort(want)
		if err != nil || !slices.Equal(got, want) {
			t.Fatalf("TransitiveGroupsOf(user) = %v, %v; want %v", got, err, want)
		}
		got, err = f.Store.TransitiveGroupsOf(ctx(), outer.ObjectID)
		if err != nil || len(got) != 0 {
			t.Fatalf("TransitiveGroupsOf(outer) = %v, %v", got, err)
		}
		// A cycle: outer becomes a member of inner.
		if err := f.Store.AddGroupMember(ctx(), inner.ObjectID, outer.ObjectID); err != nil {
			t.Fatal(err)
		}
		got, err = f.Store.TransitiveGroupsOf(ctx(), u.ObjectID)
		if err != nil || !slices.Equal(got, want) {
			t.Fatalf("TransitiveGroupsOf(user) with a cycle = %v, %v; want %v", got, err, want)
		}
		got, err = f.Store.TransitiveGroupsOf(ctx(), outer.ObjectID)
		if err != nil || !slices.Equal(got, want) {
			t.Fatalf("TransitiveGroupsOf(outer) in a cycle = %v, %v; want %v (itself included)", got, err, want)
		}
		if ok, err := f.Store.RemoveGroupMember(ctx(), inner.ObjectID, outer.ObjectID); err != nil || !ok {
			t.Fatalf("RemoveGroupMember = %v, %v", ok, err)
		}
		if ok, err := f.Store.RemoveGroupMember(ctx(), inner.ObjectID, outer.ObjectID); err != nil || ok {
			t.Fatalf("second RemoveGroupMember = %v, %v", ok, err)
		}
	})
	t.Run("ErrMembers", func(t *testing.T) {
		wantCode(t, "a member twice", f.Store.AddGroupMember(ctx(), inner.ObjectID, u.ObjectID), galleon.CodeConflict)
		wantCode(t, "a group in itself", f.Store.AddGroupMember(ctx(), inner.ObjectID, inner.ObjectID), galleon.CodeInvalidParameter)
		wantCode(t, "a missing member", f.Store.AddGroupMember(ctx(), inner.ObjectID, uuid.NewString()), galleon.CodeResourceNotFound)
		wantCode(t, "a missing group", f.Store.AddGroupMember(ctx(), uuid.NewString(), u.ObjectID), galleon.CodeResourceNotFound)
		wantCode(t, "a user as the group", f.Store.AddGroupMember(ctx(), u.ObjectID, inner.ObjectID), galleon.CodeResourceNotFound)
	})
	t.Run("List", func(t *testing.T) {
		gs, _, err := f.Store.ListGroups(ctx(), galleon.DirectoryFilter{{Field: galleon.FieldDisplayName, Op: galleon.FilterEq, Value: "middle"}}, galleon.Page{})
		if err != nil || len(gs) != 1 || gs[0].ObjectID != middle.ObjectID || !gs[0].SecurityEnabled || gs[0].MailNickname != "Middle" {
			t.Fatalf("ListGroups(displayName eq middle) = %+v, %v", gs, err)
		}
		var all []string
		page := galleon.Page{Limit: 2}
		for {
			gs, next, err := f.Store.ListGroups(ctx(), nil, page)
			if err != nil {
				t.Fatal(err)
			}
			for _, g := range gs {
				all = append(all, g.DisplayName)
			}
			if next == "" {
				break
			}
			page.After = next
		}
		if !slices.Equal(all, []string{"Inner", "Middle", "Outer"}) {
			t.Errorf("ListGroups in pages of 2: %v", all)
		}
		_, _, err = f.Store.ListGroups(ctx(), galleon.DirectoryFilter{{Field: "secret", Op: galleon.FilterEq, Value: "x"}}, galleon.Page{})
		wantCode(t, "an unknown filter field", err, galleon.CodeInvalidParameter)
	})
	t.Run("Delete", func(t *testing.T) {
		if ok, err := f.Store.DeleteGroup(ctx(), middle.ObjectID); err != nil || !ok {
			t.Fatalf("DeleteGroup = %v, %v", ok, err)
		}
		got, err := f.Store.TransitiveGroupsOf(ctx(), u.ObjectID)
		if err != nil || !slices.Equal(got, []string{inner.ObjectID}) {
			t.Fatalf("TransitiveGroupsOf after deleting the middle group = %v, %v", got, err)
		}
		_, err = f.Store.GetGroup(ctx(), middle.ObjectID)
		wantCode(t, "GetGroup after delete", err, galleon.CodeResourceNotFound)
	})
}

func testDirectoryApplications(t *testing.T, open Opener) {
	f := MustFixture(t, open)
	tid := f.Bootstrap.Tenant.ID
	app := &galleon.Application{ObjectID: uuid.NewString(), TenantID: tid, AppID: uuid.NewString(), DisplayName: "azure-cli-2026"}
	if err := f.Store.CreateApplication(ctx(), app); err != nil {
		t.Fatal(err)
	}
	wantCode(t, "an app id twice", f.Store.CreateApplication(ctx(), &galleon.Application{ObjectID: uuid.NewString(), TenantID: tid, AppID: app.AppID, DisplayName: "x"}), galleon.CodeConflict)
	now := time.Now().UTC().Truncate(time.Millisecond)
	cred := &galleon.PasswordCredential{KeyID: uuid.NewString(), OwnerID: app.ObjectID, DisplayName: "rbac", Hint: "abc", Hash: "apphash",
		StartDateTime: now, EndDateTime: now.AddDate(1, 0, 0)}
	if err := f.Store.AddPasswordCredential(ctx(), cred); err != nil || cred.AppID != app.AppID {
		t.Fatalf("AddPasswordCredential(app) = %v, app id %q", err, cred.AppID)
	}
	wantCode(t, "a credential for nobody", f.Store.AddPasswordCredential(ctx(), &galleon.PasswordCredential{KeyID: uuid.NewString(), OwnerID: uuid.NewString(),
		StartDateTime: now, EndDateTime: now}), galleon.CodeResourceNotFound)
	got, err := f.Store.GetApplication(ctx(), app.AppID)
	if err != nil || got.ObjectID != app.ObjectID || len(got.PasswordCredentials) != 1 || got.PasswordCredentials[0].Hash != "apphash" ||
		!got.PasswordCredentials[0].EndDateTime.Equal(cred.EndDateTime) {
		t.Fatalf("GetApplication = %+v, %v", got, err)
	}
	apps, _, err := f.Store.ListApplications(ctx(), galleon.DirectoryFilter{{Field: galleon.FieldDisplayName, Op: galleon.FilterStartsWith, Value: "AZURE-cli"}}, galleon.Page{})
	if err != nil || len(apps) != 1 || len(apps[0].PasswordCredentials) != 1 {
		t.Fatalf("ListApplications = %+v, %v", apps, err)
	}

	sp := &galleon.ServicePrincipal{Principal: galleon.Principal{ObjectID: uuid.NewString(), TenantID: tid, AppID: app.AppID, DisplayName: app.DisplayName}, AccountEnabled: true}
	if err := f.Store.CreateServicePrincipal(ctx(), sp); err != nil {
		t.Fatal(err)
	}
	wantCode(t, "a second service principal for the app", f.Store.CreateServicePrincipal(ctx(),
		&galleon.ServicePrincipal{Principal: galleon.Principal{ObjectID: uuid.NewString(), TenantID: tid, AppID: app.AppID}}), galleon.CodeConflict)
	spCred := &galleon.PasswordCredential{KeyID: uuid.NewString(), OwnerID: sp.ObjectID, Hint: "xyz", Hash: "sphash", StartDateTime: now, EndDateTime: now.Add(time.Hour)}
	if err := f.Store.AddPasswordCredential(ctx(), spCred); err != nil {
		t.Fatal(err)
	}
	// Both credentials sign the service principal in.
	p, secrets, err := f.Store.ServicePrincipalByAppID(ctx(), app.AppID)
	hashes := names(secrets, func(c *galleon.ClientSecret) string { return c.Hash })
	slices.Sort(hashes)
	if err != nil || p.ObjectID != sp.ObjectID || !slices.Equal(hashes, []string{"apphash", "sphash"}) {
		t.Fatalf("ServicePrincipalByAppID = %+v %v, %v", p, hashes, err)
	}
	for _, filter := range []galleon.DirectoryFilter{
		{{Field: galleon.FieldAppID, Op: galleon.FilterEq, Value: app.AppID}},
		{{Field: galleon.FieldServicePrincipalNames, Op: galleon.FilterAnyEq, Value: app.AppID}},
	} {
		sps, _, err := f.Store.ListServicePrincipals(ctx(), filter, galleon.Page{})
		if err != nil || len(sps) != 1 || sps[0].ObjectID != sp.ObjectID || len(sps[0].PasswordCredentials) != 1 {
			t.Fatalf("ListServicePrincipals(%v) = %+v, %v", filter, sps, err)
		}
	}
	objs, err := f.Store.GetDirectoryObjects(ctx(), []string{sp.ObjectID, uuid.NewString(), app.ObjectID, f.Bootstrap.Admin.ObjectID})
	if err != nil || len(objs) != 3 || objs[0].Type != galleon.PrincipalServicePrincipal || objs[1].Type != galleon.PrincipalApplication ||
		objs[2].Type != galleon.PrincipalUser || objs[2].User.UserPrincipalName != f.Bootstrap.Admin.UserPrincipalName {
		t.Fatalf("GetDirectoryObjects = %+v, %v", objs, err)
	}
	if ok, err := f.Store.RemovePasswordCredential(ctx(), sp.ObjectID, spCred.KeyID); err != nil || !ok {
		t.Fatalf("RemovePasswordCredential = %v, %v", ok, err)
	}
	// Deleting the application takes its service principal along.
	if ok, err := f.Store.DeleteApplication(ctx(), app.ObjectID); err != nil || !ok {
		t.Fatalf("DeleteApplication = %v, %v", ok, err)
	}
	_, err = f.Store.GetServicePrincipal(ctx(), sp.ObjectID)
	wantCode(t, "the service principal of a deleted app", err, galleon.CodeResourceNotFound)
	_, _, err = f.Store.ServicePrincipalByAppID(ctx(), app.AppID)
	wantCode(t, "signing in a deleted app", err, galleon.CodeResourceNotFound)
}

func testDirectoryInvitations(t *testing.T, open Opener) {
	f := MustFixture(t, open)
	now := time.Now().UTC().Truncate(time.Millisecond)
	invite := func(email string) (*galleon.Invitation, *galleon.DirectoryUser) {
		t.Helper()
		guest := &galleon.DirectoryUser{
			Principal: galleon.Principal{ObjectID: uuid.NewString(), TenantID: f.Bootstrap.Tenant.ID, Type: galleon.PrincipalUser,
				UserPrincipalName: galleon.GuestPrincipalName(email, "example.test"), DisplayName: email},
			Mail: email, UserType: galleon.UserTypeGuest, ExternalUserState: galleon.ExternalStatePending, AccountEnabled: true,
		}
		inv := &galleon.Invitation{ID: uuid.NewString(), UserID: guest.ObjectID, Email: email, InviterID: f.Bootstrap.Admin.ObjectID,
			InviterName: "Admin", ResourceID: "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/galleries/g",
			Status: galleon.InvitationPending, TokenID: uuid.NewString(), TokenExpiresAt: now.Add(time.Hour)}
		if err := f.Store.CreateInvitation(ctx(), inv, guest); err != nil {
			t.Fatalf("CreateInvitation(%s): %v", email, err)
		}
		return inv, guest
	}
	inv, guest := invite("someone@example.org")
	if guest.UserPrincipalName != "someone_example.org#EXT#@example.test" {
		t.Errorf("guest UPN %s", guest.UserPrincipalName)
	}
	u, err := f.Store.UserForSignIn(ctx(), "SOMEONE@example.org")
	if err != nil || u.ObjectID != guest.ObjectID || u.ExternalUserState != galleon.ExternalStatePending || u.PasswordHash != "" {
		t.Fatalf("UserForSignIn(guest mail) = %+v, %v", u, err)
	}

	t.Run("Redeem", func(t *testing.T) {
		_, err := f.Store.RedeemInvitation(ctx(), inv.ID, "wrong-token", "pw", now)
		wantCode(t, "another token", err, galleon.CodeInvitationGone)
		_, err = f.Store.RedeemInvitation(ctx(), inv.ID, inv.TokenID, "pw", now.Add(2*time.Hour))
		wantCode(t, "an expired token", err, galleon.CodeInvitationGone)
		got, err := f.Store.RedeemInvitation(ctx(), inv.ID, inv.TokenID, "pwhash", now)
		if err != nil || got.Status != galleon.InvitationAccepted || got.RedeemedAt.IsZero() {
			t.Fatalf("RedeemInvitation = %+v, %v", got, err)
		}
		u, _ := f.Store.GetUser(ctx(), guest.ObjectID)
		if u.PasswordHash != "pwhash" || u.ExternalUserState != galleon.ExternalStateAccepted || !u.AccountEnabled {
			t.Fatalf("guest after redemption: %+v", u)
		}
		_, err = f.Store.RedeemInvitation(ctx(), inv.ID, inv.TokenID, "again", now)
		wantCode(t, "a second redemption", err, galleon.CodeInvitationGone)
		u, _ = f.Store.GetUser(ctx(), guest.ObjectID)
		if u.PasswordHash != "pwhash" {
			t.Fatal("a refused redemption changed the password")
		}
		// Revoking a redeemed invitation disables the guest.
		got, err = f.Store.RevokeInvitation(ctx(), inv.ID)
		if err != nil || got.Status != galleon.InvitationRevoked {
			t.Fatalf("RevokeInvitation = %+v, %v", got, err)
		}
		if u, _ := f.Store.GetUser(ctx(), guest.ObjectID); u.AccountEnabled {
			t.Fatal("the guest of a revoked, redeemed invitation is still enabled")
		}
	})
	t.Run("Resend", func(t *testing.T) {
		inv2, _ := invite("other@example.org")
		oldToken := inv2.TokenID
		got, err := f.Store.UpdateInvitation(ctx(), inv2.ID, func(i *galleon.Invitation) (*galleon.Invitation, error) {
			i.TokenID, i.TokenExpiresAt = uuid.NewString(), now.Add(2*time.Hour)
			return i, nil
		})
		if err != nil || got.TokenID == oldToken {
			t.Fatalf("UpdateInvitation = %+v, %v", got, err)
		}
		_, err = f.Store.RedeemInvitation(ctx(), inv2.ID, oldToken, "pw", now)
		wantCode(t, "the replaced token", err, galleon.CodeInvitationGone)
		if _, err := f.Store.RevokeInvitation(ctx(), inv2.ID); err != nil {
			t.Fatal(err)
		}
		_, err = f.Store.RedeemInvitation(ctx(), inv2.ID, got.TokenID, "pw", now)
		wantCode(t, "a revoked invitation", err, galleon.CodeInvitationGone)
	})
	t.Run("List", func(t *testing.T) {
		invite("third@example.org")
		var emails []string
		page := galleon.Page{Limit: 2}
		for {
			invs, next, err := f.Store.ListInvitations(ctx(), f.Bootstrap.Tenant.ID, page)
			if err != nil {
				t.Fatal(err)
			}
			for _, i := range invs {
				emails = append(emails, i.Email)
			}
			if next == "" {
				break
			}
			page.After = next
		}
		if !slices.Equal(emails, []string{"third@example.org", "other@example.org", "someone@example.org"}) {
			t.Errorf("ListInvitations newest first: %v", emails)
		}
		_, err := f.Store.GetInvitation(ctx(), uuid.NewString())
		wantCode(t, "GetInvitation", err, galleon.CodeResourceNotFound)
	})
	t.Run("DeleteGuest", func(t *testing.T) {
		inv4, g4 := invite("fourth@example.org")
		if ok, err := f.Store.DeleteUser(ctx(), g4.ObjectID); err != nil || !ok {
			t.Fatal(ok, err)
		}
		_, err := f.Store.RedeemInvitation(ctx(), inv4.ID, inv4.TokenID, "pw", now)
		wantCode(t, "the invitation of a deleted guest", err, galleon.CodeInvitationGone)
	})
}
