package galleon

import (
	"slices"
	"testing"
)

const (
	subA    = "11111111-1111-1111-1111-111111111111"
	subB    = "22222222-2222-2222-2222-222222222222"
	tenantC = "33333333-3333-3333-3333-333333333333"
)

func community() *CommunityGalleryInfo {
	return &CommunityGalleryInfo{PublisherURI: "https://contoso.example", PublisherContact: "images@contoso.example",
		Eula: "https://contoso.example/eula", PublicNamePrefix: "Contoso"}
}

func galleryWith(sp *SharingProfile) *Gallery {
	return &Gallery{ID: GalleryID{SubscriptionID: subA, ResourceGroup: "rg", Name: "gal"}, Location: "eastus",
		Properties: GalleryProperties{SharingProfile: sp}}
}

func TestSharingUpdate_Validate(t *testing.T) {
	groups := func(typ string, ids ...string) []SharingProfileGroup {
		return []SharingProfileGroup{{Type: typ, IDs: ids}}
	}
	for _, tt := range []struct {
		name   string
		u      SharingUpdate
		target string // empty: valid
	}{
		{"Add", SharingUpdate{"add", groups("subscriptions", subB)}, ""},
		{"Reset", SharingUpdate{"Reset", nil}, ""},
		{"EnableCommunity", SharingUpdate{"EnableCommunity", nil}, ""},
		{"NoOperation", SharingUpdate{"", groups(SharingGroupSubscriptions, subB)}, "sharingUpdate.operationType"},
		{"BadOperation", SharingUpdate{"Share", groups(SharingGroupSubscriptions, subB)}, "sharingUpdate.operationType"},
		{"AddNoGroups", SharingUpdate{"Add", nil}, "sharingUpdate.groups"},
		{"RemoveNoGroups", SharingUpdate{"Remove", nil}, "sharingUpdate.groups"},
		{"ResetWithGroups", SharingUpdate{"Reset", groups(SharingGroupSubscriptions, subB)}, "sharingUpdate.groups"},
		{"BadType", SharingUpdate{"Add", groups("Users", subB)}, "sharingUpdate.groups.type"},
		{"NoIDs", SharingUpdate{"Add", groups(SharingGroupAADTenants)}, "sharingUpdate.groups.ids"},
		{"NotAGUID", SharingUpdate{"Add", groups(SharingGroupSubscriptions, "../etc/passwd")}, "sharingUpdate.groups.ids"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.u.Validate()
			if tt.target == "" {
				if err != nil {
					t.Fatalf("Validate() = %v", err)
				}
				return
			}
			e, ok := err.(*Error)
			if !ok || e.Code != CodeInvalidParameter || e.Target != tt.target {
				t.Fatalf("Validate() = %v, want InvalidParameter on %s", err, tt.target)
			}
		})
	}
	u := SharingUpdate{"add", []SharingProfileGroup{{Type: "aadtenants", IDs: []string{"ABCDEF00-0000-0000-0000-000000000000"}}}}
	if err := u.Validate(); err != nil || u.OperationType != SharingAdd || u.Groups[0].Type != SharingGroupAADTenants ||
		u.Groups[0].IDs[0] != "abcdef00-0000-0000-0000-000000000000" {
		t.Fatalf("Validate() canonicalises to %+v, %v", u, err)
	}
}

func TestSharingUpdate_Apply(t *testing.T) {
	enabled := func() *SharingProfile {
		ci := community()
		tr := true
		ci.CommunityGalleryEnabled, ci.PublicNames = &tr, []string{"Contoso-1"}
		return &SharingProfile{Permissions: SharingCommunity, CommunityGalleryInfo: ci}
	}
	shared := func() *SharingProfile {
		return &SharingProfile{Permissions: SharingGroups, Groups: []SharingProfileGroup{{Type: SharingGroupSubscriptions, IDs: []string{subB}}}}
	}
	for _, tt := range []struct {
		name  string
		start *SharingProfile
		u     SharingUpdate
		code  string
		check func(t *testing.T, g *Gallery)
	}{
		{"AddToPrivate", &SharingProfile{Permissions: SharingPrivate},
			SharingUpdate{SharingAdd, []SharingProfileGroup{{SharingGroupSubscriptions, []string{subB, subB}}, {SharingGroupAADTenants, []string{tenantC}}}}, "",
			func(t *testing.T, g *Gallery) {
				if g.Properties.SharingProfile.Permissions != SharingGroups || !g.SharedWithSubscription(subB) || !g.SharedWithTenant(tenantC) ||
					len(g.Properties.SharingProfile.groupIDs(SharingGroupSubscriptions)) != 1 {
					t.Fatalf("%+v", g.Properties.SharingProfile)
				}
			}},
		{"AddToNil", nil, SharingUpdate{SharingAdd, []SharingProfileGroup{{SharingGroupSubscriptions, []string{subB}}}}, "",
			func(t *testing.T, g *Gallery) {
				if !g.SharedWith(ShareConsumer{SubscriptionID: subB}) {
					t.Fatal("not shared")
				}
			}},
		{"RemoveLast", shared(), SharingUpdate{SharingRemove, []SharingProfileGroup{{SharingGroupSubscriptions, []string{subB}}}}, "",
			func(t *testing.T, g *Gallery) {
				if sp := g.Properties.SharingProfile; sp.Groups != nil || sp.Permissions != SharingGroups {
					t.Fatalf("%+v", sp)
				}
			}},
		{"RemoveAbsent", shared(), SharingUpdate{SharingRemove, []SharingProfileGroup{{SharingGroupAADTenants, []string{tenantC}}}}, "",
			func(t *testing.T, g *Gallery) {
				if !g.SharedWithSubscription(subB) {
					t.Fatal("lost the subscription")
				}
			}},
		{"Reset", shared(), SharingUpdate{OperationType: SharingReset}, "",
			func(t *testing.T, g *Gallery) {
				if sp := g.Properties.SharingProfile; sp.Groups != nil || sp.Permissions != SharingPrivate {
					t.Fatalf("%+v", sp)
				}
			}},
		{"ResetCommunity", enabled(), SharingUpdate{OperationType: SharingReset}, "",
			func(t *testing.T, g *Gallery) {
				if g.CommunityEnabled() || g.PublicNames() != nil || g.Properties.SharingProfile.CommunityGalleryInfo.Eula == "" {
					t.Fatalf("%+v", g.Properties.SharingProfile.CommunityGalleryInfo)
				}
			}},
		{"EnableCommunity", &SharingProfile{Permissions: SharingCommunity, CommunityGalleryInfo: community()},
			SharingUpdate{OperationType: SharingEnableCommunity}, "",
			func(t *testing.T, g *Gallery) {
				if !g.CommunityEnabled() || !slices.Equal(g.PublicNames(), []string{"Contoso-new"}) {
					t.Fatalf("%+v", g.Properties.SharingProfile.CommunityGalleryInfo)
				}
			}},
		{"EnableCommunityAgainKeepsName", enabled(), SharingUpdate{OperationType: SharingEnableCommunity}, "",
			func(t *testing.T, g *Gallery) {
				if !slices.Equal(g.PublicNames(), []string{"Contoso-1"}) {
					t.Fatalf("%v", g.PublicNames())
				}
			}},
		{"ErrEnableCommunityWithoutInfo", &SharingProfile{Permissions: SharingPrivate}, SharingUpdate{OperationType: SharingEnableCommunity}, CodeInvalidParameter, nil},
		{"ErrEnableCommunityWhileShared", func() *SharingProfile { sp := shared(); sp.CommunityGalleryInfo = community(); return sp }(),
			SharingUpdate{OperationType: SharingEnableCommunity}, CodeOperationNotAllowed, nil},
		{"ErrAddToCommunity", enabled(), SharingUpdate{SharingAdd, []SharingProfileGroup{{SharingGroupSubscriptions, []string{subB}}}}, CodeOperationNotAllowed, nil},
		{"ErrTooManyTenants", nil, SharingUpdate{SharingAdd, []SharingProfileGroup{{SharingGroupAADTenants, []string{
			"00000000-0000-0000-0000-000000000001", "00000000-0000-0000-0000-000000000002", "00000000-0000-0000-0000-000000000003",
			"00000000-0000-0000-0000-000000000004", "00000000-0000-0000-0000-000000000005", "00000000-0000-0000-0000-000000000006"}}}},
			CodeInvalidParameter, nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			g := galleryWith(tt.start)
			before := galleryWith(tt.start.clone())
			err := tt.u.Apply(g, "Contoso-new")
			if got := ErrorCode(err); got != tt.code {
				t.Fatalf("Apply() = %v, want code %q", err, tt.code)
			}
			if tt.start != nil && !slices.EqualFunc(tt.start.Groups, before.Properties.SharingProfile.Groups, func(a, b SharingProfileGroup) bool {
				return a.Type == b.Type && slices.Equal(a.IDs, b.IDs)
			}) {
				t.Fatal("Apply changed the profile it started from")
			}
			if tt.check != nil {
				tt.check(t, g)
			}
		})
	}
}

func TestUpdateGallerySharing(t *testing.T) {
	tr := true
	sharedOld := galleryWith(&SharingProfile{Permissions: SharingGroups, Groups: []SharingProfileGroup{{SharingGroupSubscriptions, []string{subB}}}})
	enabledInfo := community()
	enabledInfo.CommunityGalleryEnabled, enabledInfo.PublicNames = &tr, []string{"Contoso-1"}
	communityOld := galleryWith(&SharingProfile{Permissions: SharingCommunity, CommunityGalleryInfo: enabledInfo})
	for _, tt := range []struct {
		name   string
		old    *Gallery
		new    *SharingProfile
		code   string
		target string
		check  func(t *testing.T, sp *SharingProfile)
	}{
		{"CreateDefault", nil, nil, "", "", func(t *testing.T, sp *SharingProfile) {
			if sp.Permissions != SharingPrivate {
				t.Fatalf("%+v", sp)
			}
		}},
		{"CreateGroupsDropsGroups", nil, &SharingProfile{Permissions: "groups", Groups: []SharingProfileGroup{{SharingGroupSubscriptions, []string{subB}}}}, "", "",
			func(t *testing.T, sp *SharingProfile) {
				if sp.Permissions != SharingGroups || sp.Groups != nil {
					t.Fatalf("%+v", sp)
				}
			}},
		{"CreateCommunity", nil, &SharingProfile{Permissions: SharingCommunity, CommunityGalleryInfo: enabledInfo}, "", "",
			func(t *testing.T, sp *SharingProfile) {
				if ci := sp.CommunityGalleryInfo; *ci.CommunityGalleryEnabled || ci.PublicNames != nil {
					t.Fatalf("read-only community fields taken from the request: %+v", ci)
				}
			}},
		{"ErrCreateCommunityWithoutInfo", nil, &SharingProfile{Permissions: SharingCommunity}, CodeInvalidParameter,
			"gallery.properties.sharingProfile.communityGalleryInfo", nil},
		{"ErrCreateCommunityWithoutEula", nil, &SharingProfile{Permissions: SharingCommunity, CommunityGalleryInfo: func() *CommunityGalleryInfo {
			ci := community()
			ci.Eula = ""
			return ci
		}()}, CodeInvalidParameter, "gallery.properties.sharingProfile.communityGalleryInfo.eula", nil},
		{"ErrBadContact", nil, &SharingProfile{Permissions: SharingCommunity, CommunityGalleryInfo: func() *CommunityGalleryInfo {
			ci := community()
			ci.PublisherContact = "not an address"
			return ci
		}()}, CodeInvalidParameter, "gallery.properties.sharingProfile.communityGalleryInfo.publisherContact", nil},
		{"ErrBadPrefix", nil, &SharingProfile{Permissions: SharingCommunity, CommunityGalleryInfo: func() *CommunityGalleryInfo {
			ci := community()
			ci.PublicNamePrefix = "a-b"
			return ci
		}()}, CodeInvalidParameter, "gallery.properties.sharingProfile.communityGalleryInfo.publicNamePrefix", nil},
		{"ErrBadPermission", nil, &SharingProfile{Permissions: "Public"}, CodeInvalidParameter, "gallery.properties.sharingProfile.permissions", nil},
		{"UpdateKeepsGroups", sharedOld, &SharingProfile{Permissions: SharingGroups}, "", "", func(t *testing.T, sp *SharingProfile) {
			if len(sp.Groups) != 1 || sp.Groups[0].IDs[0] != subB {
				t.Fatalf("%+v", sp)
			}
		}},
		{"UpdateWithoutProfileKeepsIt", sharedOld, nil, "", "", func(t *testing.T, sp *SharingProfile) {
			if sp.Permissions != SharingGroups || len(sp.Groups) != 1 {
				t.Fatalf("%+v", sp)
			}
		}},
		{"UpdateIgnoresGroupsInBody", sharedOld, &SharingProfile{Groups: []SharingProfileGroup{{SharingGroupAADTenants, []string{tenantC}}}}, "", "",
			func(t *testing.T, sp *SharingProfile) {
				if len(sp.Groups) != 1 || sp.Groups[0].Type != SharingGroupSubscriptions {
					t.Fatalf("%+v", sp)
				}
			}},
		{"ErrChangePermission", sharedOld, &SharingProfile{Permissions: SharingPrivate}, CodePropertyChangeNotAllowed,
			"gallery.properties.sharingProfile.permissions", nil},
		{"ErrPrivateToCommunity", galleryWith(nil), &SharingProfile{Permissions: SharingCommunity, CommunityGalleryInfo: community()},
			CodePropertyChangeNotAllowed, "gallery.properties.sharingProfile.permissions", nil},
		{"UpdateCommunityInfo", communityOld, &SharingProfile{CommunityGalleryInfo: &CommunityGalleryInfo{PublisherURI: "https://new.example",
			PublisherContact: "new@contoso.example", Eula: "new eula"}}, "", "", func(t *testing.T, sp *SharingProfile) {
			ci := sp.CommunityGalleryInfo
			if ci.Eula != "new eula" || ci.PublicNamePrefix != "Contoso" || !*ci.CommunityGalleryEnabled || ci.PublicNames[0] != "Contoso-1" {
				t.Fatalf("%+v", ci)
			}
		}},
		{"ErrChangePrefixWhilePublished", communityOld, &SharingProfile{CommunityGalleryInfo: func() *CommunityGalleryInfo {
			ci := community()
			ci.PublicNamePrefix = "Fabrikam"
			return ci
		}()}, CodePropertyChangeNotAllowed, "gallery.properties.sharingProfile.communityGalleryInfo.publicNamePrefix", nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			g := galleryWith(tt.new)
			err := UpdateGallerySharing(tt.old, g)
			e, _ := err.(*Error)
			if ErrorCode(err) != tt.code || tt.target != "" && (e == nil || e.Target != tt.target) {
				t.Fatalf("UpdateGallerySharing() = %v, want %q on %q", err, tt.code, tt.target)
			}
			if tt.check != nil {
				tt.check(t, g.Properties.SharingProfile)
			}
		})
	}
	if len(sharedOld.Properties.SharingProfile.Groups) != 1 || len(communityOld.PublicNames()) != 1 {
		t.Fatal("UpdateGallerySharing changed the old gallery")
	}
}

func TestParseGalleryUniqueName(t *testing.T) {
	for _, tt := range []struct {
		in       string
		sub, gal string
		ok       bool
	}{
		{subA + "-MYGALLERY", subA, "MYGALLERY", true},
		{"11111111-1111-1111-1111-11111111111A-my.gallery_1", "11111111-1111-1111-1111-11111111111a", "my.gallery_1", true},
		{"MYGALLERY", "", "", false},
		{subA + "-", "", "", false},
		{"nosub-GAL", "", "", false},
		{subA + "-../x", "", "", false},
	} {
		sub, gal, ok := ParseGalleryUniqueName(tt.in)
		if sub != tt.sub || gal != tt.gal || ok != tt.ok {
			t.Errorf("ParseGalleryUniqueName(%q) = %q, %q, %v; want %q, %q, %v", tt.in, sub, gal, ok, tt.sub, tt.gal, tt.ok)
		}
	}
	g := galleryWith(nil)
	if got := g.UniqueName(); got != subA+"-GAL" {
		t.Errorf("UniqueName() = %s", got)
	}
}

func TestVersionOfferedIn(t *testing.T) {
	v := &ImageVersion{Properties: ImageVersionProperties{
		PublishingProfile: &PublishingProfile{TargetRegions: []TargetRegion{{Name: "eastus"}, {Name: "West US 2"}, {Name: "westeurope"}}},
		ProvisioningState: ProvisioningUpdating,
		ReplicationStatus: &ReplicationStatus{Summary: []RegionReplicationStatus{
			{Region: "eastus", State: ReplicationCompleted}, {Region: "westus2", State: ReplicationReplicating}}},
	}}
	for loc, want := range map[string]bool{"eastus": true, "westus2": false, "westeurope": false, "centralus": false} {
		if got := VersionOfferedIn(v, loc); got != want {
			t.Errorf("VersionOfferedIn(%s) = %v, want %v", loc, got, want)
		}
	}
	v.Properties.ReplicationStatus, v.Properties.ProvisioningState = nil, ProvisioningSucceeded
	if !VersionOfferedIn(v, "westeurope") {
		t.Error("a Succeeded version without replication status is not offered in its target region")
	}
}

func TestValidateTenantDomain(t *testing.T) {
	for d, ok := range map[string]bool{"contoso.example": true, "a.b.c": true, "Contoso.Example": true,
		"contoso": false, "-x.example": false, "x..example": false, "x_y.example": false, "": false, "a b.example": false} {
		if err := ValidateTenantDomain(d); (err == nil) != ok {
			t.Errorf("ValidateTenantDomain(%q) = %v, want ok %v", d, err, ok)
		}
	}
}
