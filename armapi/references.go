package armapi

import (
	"encoding/json"

	"github.com/galleon-project/galleon"
)

// authorizeReferences decides, before any of them is looked up and before
// any byte moves, whether the caller may use each resource the request
// names (galleon.References): the write handlers of disks, snapshots,
// managed images and image versions call it with what their body adds
// to the stored state. location is the region the written resource is in.
//
// A reference is allowed when
//   - it lies in a subscription of the caller's own tenant and the
//     caller's roles grant every action and data action it needs there
//     (the same evaluation as the dispatcher's, at the referenced id); or
//   - it is an image definition or version (Shareable) whose gallery is
//     shared with the subscription the request writes in, or with that
//     subscription's tenant, and not rejected by the subscription; or is
//     published to the community; and the caller may read it through the
//     consumer view of that subscription (what the sharedGalleries or
//     communityGalleries routes would authorize).
//
// Roles a principal holds in another tenant's subscription do not count:
// Azure evaluates a linked scope in the tenant of the caller's token, and
// reaching into another tenant takes an auxiliary token Galleon does not
// take. Anything else is LinkedAuthorizationFailed naming the field, the
// same for a resource that does not exist as for one the caller may not
// use, so that an outsider learns nothing from the answer.
func (s *Server) authorizeReferences(r *request, refs []galleon.Reference, location string) error {
	if len(refs) == 0 {
		return nil
	}
	perms, err := s.Authorizer.Permissions(r.Context(), r.principal)
	if err != nil {
		return err
	}
	tenants := map[string]string{} // folded subscription id → its tenant, "" when there is none
	tenantOf := func(sub string) (string, error) {
		k := galleon.Fold(sub)
		if t, ok := tenants[k]; ok {
			return t, nil
		}
		got, err := s.Store.GetSubscription(r.Context(), sub)
		switch {
		case galleon.ErrorCode(err) == galleon.CodeSubscriptionNotFound || galleon.ErrorCode(err) == galleon.CodeResourceNotFound:
			tenants[k] = ""
		case err != nil:
			return "", err
		default:
			tenants[k] = got.TenantID
		}
		return tenants[k], nil
	}
	for _, ref := range refs {
		scope := ref.ID.String()
		tenant, err := tenantOf(ref.ID.SubscriptionID)
		if err != nil {
			return err
		}
		if tenant == "" && ref.ID.Is(galleon.TypeStorageAccount) {
			// A storage account outside every Galleon subscription (a
			// real Azure one, say) names nothing Galleon holds: the bytes
			// come from the source URI, which carries its own credentials
			// and is fetched through the import guard. Refusing it would
			// only stop imports from real Azure storage.
			continue
		}
		var missing []string
		for _, a := range ref.Actions {
			if tenant == "" || tenant != r.principal.TenantID || !perms.Allows(a, scope) {
				missing = append(missing, a)
			}
		}
		for _, a := range ref.DataActions {
			if tenant == "" || tenant != r.principal.TenantID || !perms.AllowsData(a, scope) {
				missing = append(missing, a)
			}
		}
		if len(missing) == 0 {
			continue
		}
		if ref.Shareable {
			consumerTenant, err := tenantOf(r.id.SubscriptionID)
			if err != nil {
				return err
			}
			ok, err := s.sharedReference(r, perms, ref, galleon.ShareConsumer{SubscriptionID: r.id.SubscriptionID, TenantID: consumerTenant}, location)
			if err != nil {
				return err
			}
			if ok {
				continue
			}
		}
		return galleon.LinkedDenied(r.principal, r.action, r.scope, missing, scope, ref.Field)
	}
	return nil
}

// sharedReference reports whether an image definition or version may be
// used through a share: its gallery is shared with the consumer and not
// rejected, or published to the community, and the caller may read it
// through the consumer's view in location.
func (s *Server) sharedReference(r *request, perms galleon.Permissions, ref galleon.Reference, c galleon.ShareConsumer, location string) (bool, error) {
	gallery := ref.ID.GalleryID()
	view := "/subscriptions/" + c.SubscriptionID + "/providers/Microsoft.Compute/locations/" + galleon.NormalizeLocation(location)
	// The view's item: …/images/{i}, or …/images/{i}/versions/{v}.
	item, action := "/images/"+ref.ID.Names[1], "images/read"
	if ref.ID.Is(galleon.TypeImageVersion) {
		item, action = item+"/versions/"+ref.ID.Names[2], "images/versions/read"
	}
	g, err := s.Store.GetSharedGallery(r.Context(), c, galleon.GalleryUniqueName(gallery))
	if err == nil {
		return perms.Allows("Microsoft.Compute/locations/sharedGalleries/"+action, view+"/sharedGalleries/"+g.UniqueName()+item), nil
	}
	if galleon.ErrorCode(err) != galleon.CodeResourceNotFound {
		return false, err
	}
	g, err = s.Store.GetGallery(r.Context(), gallery)
	if galleon.ErrorCode(err) == galleon.CodeResourceNotFound || err == nil && !g.CommunityEnabled() {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	names := g.PublicNames()
	if len(names) == 0 {
		return false, nil
	}
	return perms.Allows("Microsoft.Compute/locations/communityGalleries/"+action, view+"/communityGalleries/"+names[0]+item), nil
}

// authorizePatchReferences authorizes what a PATCH's properties would name
// beyond the stored resource's own sources, before the rules refuse a
// change of sources: a source the caller may not use is refused as on
// PUT. current and err are what the store answered for the resource; one
// that is not there is left to the handler's own answer. props points at
// the properties of the resource it is given.
func authorizePatchReferences[R any, PR interface {
	*R
	galleon.Referrer
}, P any](s *Server, r *request, current PR, err error, patch json.RawMessage, props func(PR) *P, location string) error {
	if galleon.ErrorCode(err) == galleon.CodeResourceNotFound {
		return nil
	}
	if err != nil {
		return err
	}
	merged := PR(new(R))
	*merged = *current
	if err := mergeProperties(props(merged), patch); err != nil {
		return err
	}
	refs, err := galleon.NewReferences(current, merged)
	if err != nil {
		return err
	}
	return s.authorizeReferences(r, refs, location)
}
