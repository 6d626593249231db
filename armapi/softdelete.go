package armapi

import (
	"net/http"
	"strings"

	"github.com/galleon-project/galleon"
)

// Soft delete, as GalleryRP describes it (api-version 2024-03-03 on; the
// SDK's SoftDeletedResourceClient): with a gallery's
// properties.softDeletePolicy.isSoftDeleteEnabled on, DELETE of an image
// version keeps it, bytes and all, for the retention period. Only image
// versions are soft-deleted, as in Azure ("currently only available for
// ACG images"); the artifact type is always Images.
//
//	GET    …/galleries/{g}/softDeletedArtifactTypes/Images/artifacts/{image}/versions          list (SoftDeletedResource_ListByArtifactName)
//	DELETE …/galleries/{g}/softDeletedArtifactTypes/Images/artifacts/{image}/versions/{v}      delete for good (Azure's documented hard delete)
//	PUT    …/galleries/{g}/images/{image}/versions/{v} {"location", "properties":{"restore":true}}  restore (PATCH too)
//
// Listing needs read and a hard delete needs delete on image versions, at
// the gallery or above (the soft-deleted paths are under the gallery, not
// under the definition); restoring needs write on the version, as any PUT.

var softDeletedAPI = apiVersions{provider: true, resourceType: "galleries/softDeletedArtifactTypes/artifacts/versions", versions: galleryVersions}

// SoftDeletedArtifactImages is the one soft-deleted artifact type.
const SoftDeletedArtifactImages = "Images"

const typeSoftDeletedVersion = "Microsoft.Compute/galleries/softDeletedArtifactTypes/artifacts/versions"

func softDeleteRoutes() map[routeKey]route {
	const typ = "microsoft.compute/galleries/softdeletedartifacttypes/artifacts/versions"
	const action = "Microsoft.Compute/galleries/images/versions/"
	return map[routeKey]route{
		{typ, true}: {softDeletedAPI, map[string]endpoint{
			http.MethodGet: {action: action + "read", handle: (*Server).listSoftDeletedVersions},
		}},
		{typ, false}: {softDeletedAPI, map[string]endpoint{
			http.MethodDelete: {action: action + "delete", handle: (*Server).purgeSoftDeletedVersion},
		}},
	}
}

// softDeletedJSON is a GallerySoftDeletedResource.
type softDeletedJSON struct {
	ID         string                    `json:"id"`
	Name       string                    `json:"name"`
	Type       string                    `json:"type"`
	Location   string                    `json:"location"`
	Properties softDeletedPropertiesJSON `json:"properties"`
}

type softDeletedPropertiesJSON struct {
	ResourceArmID           string `json:"resourceArmId"`
	SoftDeletedArtifactType string `json:"softDeletedArtifactType"`
	SoftDeletedTime         string `json:"softDeletedTime"`
}

// softDeletedID is where a soft-deleted version is listed and deleted.
func softDeletedID(id galleon.ImageVersionID) string {
	return id.GalleryID.String() + "/softDeletedArtifactTypes/" + SoftDeletedArtifactImages + "/artifacts/" + id.Image + "/versions/" + id.Version
}

func toSoftDeletedJSON(sd *galleon.SoftDeletedImageVersion) softDeletedJSON {
	id := sd.Version.ID
	return softDeletedJSON{
		ID: softDeletedID(id), Name: id.Version, Type: typeSoftDeletedVersion, Location: sd.Version.Location,
		Properties: softDeletedPropertiesJSON{
			ResourceArmID:           id.String(),
			SoftDeletedArtifactType: SoftDeletedArtifactImages,
			SoftDeletedTime:         sd.DeletedAt.UTC().Format("2006-01-02T15:04:05Z07:00"),
		},
	}
}

// softDeletedDefinition reads the definition a soft-deleted path names:
// …/galleries/{g}/softDeletedArtifactTypes/{type}/artifacts/{image}[/versions/{v}].
func softDeletedDefinition(r *request) (galleon.ImageDefinitionID, error) {
	artifact := r.id.Parent         // artifacts/{image}; r.id is the version (unnamed for the list)
	artifactType := artifact.Parent // softDeletedArtifactTypes/{type}
	gallery := artifactType.Parent
	if !strings.EqualFold(artifactType.Name, SoftDeletedArtifactImages) {
		return galleon.ImageDefinitionID{}, galleon.TargetErrorf(galleon.CodeInvalidParameter, "artifactType",
			"The soft-deleted artifact type '%s' is not supported; the only one is '%s'.", artifactType.Name, SoftDeletedArtifactImages)
	}
	return galleon.ImageDefinitionID{GalleryID: galleon.GalleryID{SubscriptionID: r.id.SubscriptionID,
		ResourceGroup: r.id.ResourceGroupName, Name: gallery.Name}, Image: artifact.Name}, nil
}

func (s *Server) listSoftDeletedVersions(w http.ResponseWriter, r *request) error {
	def, err := softDeletedDefinition(r)
	if err != nil {
		return err
	}
	page, err := s.page(r)
	if err != nil {
		return err
	}
	sds, next, err := s.Store.ListSoftDeletedImageVersions(r.Context(), def, page)
	if err != nil {
		return err
	}
	// Expired ones wait for the purge pass but can no longer be restored,
	// so they are not shown (a page may come out short; its nextLink
	// still leads on).
	now := s.now()
	out := make([]softDeletedJSON, 0, len(sds))
	for i := range sds {
		if sds[i].ExpiresAt.After(now) {
			out = append(out, toSoftDeletedJSON(&sds[i]))
		}
	}
	return s.writeList(w, r, out, next)
}

// purgeSoftDeletedVersion deletes a soft-deleted version for good: the row
// first, so nothing can restore it, then its manifests (the chunks only
// they named go with the region stores' garbage collection).
func (s *Server) purgeSoftDeletedVersion(w http.ResponseWriter, r *request) error {
	def, err := softDeletedDefinition(r)
	if err != nil {
		return err
	}
	sd, err := s.Store.PurgeImageVersion(r.Context(), galleon.ImageVersionID{ImageDefinitionID: def, Version: r.id.Name})
	if err != nil {
		return err
	}
	if sd == nil {
		w.WriteHeader(http.StatusNoContent)
		return nil
	}
	if s.DiskData != nil {
		if err := s.DiskData.DeleteVersionContent(r.Context(), &sd.Version); err != nil {
			return err
		}
	}
	w.WriteHeader(http.StatusOK)
	return nil
}

// purgeSoftDeletedOf purges every soft-deleted version of a definition,
// for the definition's delete when its gallery's policy is off.
func (s *Server) purgeSoftDeletedOf(r *request, def galleon.ImageDefinitionID) error {
	for {
		// Each purge removes the item from the list, so the first page is
		// always the next one.
		sds, _, err := s.Store.ListSoftDeletedImageVersions(r.Context(), def, galleon.Page{Limit: 100})
		if err != nil || len(sds) == 0 {
			return err
		}
		for i := range sds {
			sd, err := s.Store.PurgeImageVersion(r.Context(), sds[i].Version.ID)
			if err != nil {
				return err
			}
			if sd != nil && s.DiskData != nil {
				if err := s.DiskData.DeleteVersionContent(r.Context(), &sd.Version); err != nil {
					return err
				}
			}
		}
	}
}

// restoreImageVersion answers a PUT or PATCH that asks to restore (or, as
// Azure documents, a PUT that names no source) when the version is
// soft-deleted; handled reports whether it answered. A live version is
// updated as usual and the flag ignored.
func (s *Server) restoreImageVersion(w http.ResponseWriter, r *request, id galleon.ImageVersionID, asked bool) (handled bool, err error) {
	if _, err := s.Store.GetImageVersion(r.Context(), id); err == nil || galleon.ErrorCode(err) != galleon.CodeResourceNotFound {
		return false, err
	}
	// A version deleted while it replicated finishes its replication: the
	// store starts op with the restore, in one transaction.
	op := s.newOperation(id.SubscriptionID, "", galleon.OperationReplicateImageVersion, "")
	v, started, err := s.Store.RestoreImageVersion(r.Context(), id, op)
	if galleon.ErrorCode(err) == galleon.CodeResourceNotFound && !asked {
		return false, nil
	}
	if err != nil {
		return true, err
	}
	if started {
		s.operationStarted()
		s.writeAccepted(w, r, op, http.StatusOK, toImageVersionJSON(v, false))
		return true, nil
	}
	writeResource(w, http.StatusOK, v.Properties.ProvisioningState, toImageVersionJSON(v, false))
	return true, nil
}
