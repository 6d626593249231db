package portal

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/arm"
	"github.com/google/uuid"

	"github.com/galleon-project/galleon"
	"github.com/galleon-project/galleon/vhd"
)

// Upload a disk image from the browser to a new snapshot, as `galleon
// upload` does from a terminal: the portal creates the snapshot
// (createOption Upload) and asks for a write SAS through ARM as the user;
// the page's script (static/upload.js) writes the file's pages to the SAS
// URL with Put Page, 4 MiB at a time, skipping all-zero ranges; then the
// portal ends access, which seals the upload (the server checks the VHD
// and records its sha256).
//
// A raw image is sent as the fixed VHD it becomes, as the CLI does: its
// bytes, zeros up to a whole MiB (never written: an upload reads as zeros
// where nothing was written), then a footer the portal builds and the
// script writes as the last page.

// uploadSASSeconds is how long the write SAS lasts: a day, for slow links.
const uploadSASSeconds = 24 * 3600

// Kinds of file an upload takes.
const (
	uploadVHD = "vhd" // a fixed VHD, sent as it is
	uploadRaw = "raw" // a raw image, sent with padding and a footer
)

// uploadPlan is how a file is uploaded, decided from its size and its first
// and last bytes.
type uploadPlan struct {
	Kind     string `json:"kind"`
	FileSize int64  `json:"fileSize"`
	// UploadSize is the fixed VHD's size, footer included: the snapshot's
	// uploadSizeBytes.
	UploadSize int64 `json:"uploadSize"`
	// Footer is a raw image's generated VHD footer, written at
	// FooterOffset (its virtual size) after Padding zero bytes.
	Footer       []byte `json:"footer,omitempty"`
	FooterOffset int64  `json:"footerOffset,omitempty"`
	Padding      int64  `json:"padding,omitempty"`
	// Describe says what is sent, for the page.
	Describe string `json:"describe"`
}

// Magic numbers at the start of image formats an upload refuses.
const (
	qcow2Magic = "QFI\xfb"
	vhdxMagic  = "vhdxfile"
	vhdCookie  = "conectix" // opens every VHD footer, the last 512 bytes
)

// uploadHeadSize and uploadTailSize are how many of its first and last bytes
// the page sends about a file.
const (
	uploadHeadSize = 8
	uploadTailSize = vhd.FooterSize
)

// planUpload decides how the file name of size bytes, which starts with
// head and ends with tail, is uploaded: a fixed VHD Azure accepts as it
// is; a raw image wrapped into one (footer dated now with unique id id).
// Anything else (empty, qcow2, VHDX, a VHD Azure would refuse, a size that
// is not whole 512-byte sectors) is an error that says what to do.
func planUpload(name string, size int64, head, tail []byte, now time.Time, id [16]byte) (*uploadPlan, error) {
	convert := func(format string) error {
		return refusef("'%s' is a %s image. Upload takes a fixed VHD or a raw disk image: convert it first, e.g. with qemu-img convert -f %s -O vpc -o subformat=fixed,force_size '%s' out.vhd",
			name, strings.ToUpper(format), format, name)
	}
	switch {
	case size <= 0:
		return nil, refusef("'%s' is empty.", name)
	case bytes.HasPrefix(head, []byte(qcow2Magic)):
		return nil, convert("qcow2")
	case bytes.HasPrefix(head, []byte(vhdxMagic)):
		return nil, convert("vhdx")
	case size%vhd.FooterSize != 0:
		return nil, refusef("'%s' is %s bytes, which is not a whole number of 512-byte sectors, so it is not a disk image. Upload takes a fixed VHD or a raw disk image.",
			name, groupDigits(size))
	}
	if size >= vhd.FooterSize && len(tail) == vhd.FooterSize && bytes.HasPrefix(tail, []byte(vhdCookie)) {
		_, err := vhd.ValidateForAzure(&tailReader{tail: tail, size: size}, size)
		var fe *vhd.FormatError
		if errors.As(err, &fe) {
			return nil, refusef("'%s' ends with a VHD footer, but %s.", name, strings.TrimSuffix(fe.Problem, "."))
		}
		if err != nil {
			return nil, err
		}
		return &uploadPlan{Kind: uploadVHD, FileSize: size, UploadSize: size,
			Describe: fmt.Sprintf("A fixed VHD of %s, sent as it is.", sizeText(size))}, nil
	}
	virtual := vhd.FixedSizeFor(size)
	f, err := vhd.NewFixedFooter(virtual, now, id)
	if err != nil {
		return nil, err
	}
	footer, err := f.MarshalBinary()
	if err != nil {
		return nil, err
	}
	p := &uploadPlan{Kind: uploadRaw, FileSize: size, UploadSize: virtual + vhd.FooterSize, Footer: footer,
		FooterOffset: virtual, Padding: virtual - size}
	p.Describe = fmt.Sprintf("A raw disk image of %s, sent as a fixed VHD of %s: its bytes", sizeText(size), sizeText(p.UploadSize))
	if p.Padding > 0 {
		p.Describe += fmt.Sprintf(", %s of zeros to make a whole MiB as Azure requires", sizeText(p.Padding))
	}
	p.Describe += ", then a 512-byte VHD footer."
	return p, nil
}

// refusal is why a file cannot be uploaded, worded as the page shows it.
type refusal struct{ msg string }

func (r *refusal) Error() string { return r.msg }

func refusef(format string, args ...any) error { return &refusal{fmt.Sprintf(format, args...)} }

// tailReader reads the last bytes of a file of size bytes, which is all a
// footer check needs.
type tailReader struct {
	tail []byte
	size int64
}

func (t *tailReader) ReadAt(p []byte, off int64) (int, error) {
	start := t.size - int64(len(t.tail))
	if off < start || off > t.size {
		return 0, fmt.Errorf("tailReader: offset %d outside the last %d bytes", off, len(t.tail))
	}
	n := copy(p, t.tail[off-start:])
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

// sasPath is a SAS URL's path and query: the page writes to the origin it
// was served from, which the Content-Security-Policy allows, whatever
// public URL the server signs with.
func sasPath(sas string) (string, error) {
	u, err := url.Parse(sas)
	if err != nil || !strings.HasPrefix(u.Path, "/blobs/") || u.RawQuery == "" {
		return "", fmt.Errorf("the write SAS %q is not a blob URL", sas)
	}
	return u.RequestURI(), nil
}

// uploadFields map ARM error targets to the upload form's fields.
var uploadFields = map[string]string{
	"name": "name", "snapshotName": "name", "location": "region", "uploadSizeBytes": "file",
	"resourceGroupName": "resource_group", "osType": "os_type", "hyperVGeneration": "generation",
}

type uploadPage struct {
	Subscriptions  []subscriptionJSON
	ResourceGroups []rgOption
	Regions        []locationJSON
	Subscription   string
	ResourceGroup  string
	Region         string
	Rule           string
	// Return is the page the upload was started from (Add version), or "".
	Return string
}

func (p uploadPage) crumbs() []crumb { return []crumb{{"Home", Prefix}} }

// diskNameRule is shown under the snapshot name.
const diskNameRule = "Letters, digits, underscores, periods and hyphens, 1 to 80 characters, starting with a letter or digit and ending with a letter, digit or underscore."

// upload serves the upload page.
func (s *Server) upload(w http.ResponseWriter, r *http.Request, v *visit) error {
	ctx := r.Context()
	c, err := v.arm()
	if err != nil {
		return err
	}
	q := r.URL.Query()
	p := uploadPage{Rule: diskNameRule, Subscription: q.Get("subscription"), ResourceGroup: q.Get("resourceGroup")}
	if ret := q.Get("return"); ret != "" && safeReturn(ret) == ret {
		p.Return = ret
	}
	if p.Subscriptions, err = subscriptions(ctx, c); err != nil {
		return err
	}
	if p.ResourceGroups, err = resourceGroupOptions(ctx, c, p.Subscriptions); err != nil {
		return err
	}
	for _, rg := range p.ResourceGroups {
		if strings.EqualFold(rg.Name, p.ResourceGroup) && (p.Subscription == "" || p.Subscription == rg.Subscription) {
			p.Subscription, p.ResourceGroup, p.Region = rg.Subscription, rg.Name, rg.Location
		}
	}
	if p.Subscription == "" && len(p.Subscriptions) > 0 {
		p.Subscription = p.Subscriptions[0].SubscriptionID
	}
	if p.Subscription != "" {
		if p.Regions, err = locations(ctx, c, p.Subscription); err != nil && !forbidden(err) {
			return err
		}
	}
	if p.Region == "" {
		for _, rg := range p.ResourceGroups {
			if rg.Subscription == p.Subscription {
				p.Region = rg.Location
				break
			}
		}
	}
	s.render(w, r, v, http.StatusOK, "upload", "Upload a disk image", p)
	return nil
}

// uploadFailure is a JSON error for the upload page's script: the message
// and the form field it is about, if any.
type uploadFailure struct {
	Error string `json:"error"`
	Field string `json:"field,omitempty"`
}

// failUpload answers the script with err: an API refusal with its status,
// next to the field its target names; anything else as a 400 about field.
func failUpload(w http.ResponseWriter, err error, field string) {
	status := http.StatusBadRequest
	if ae, ok := err.(*apiError); ok {
		status = ae.Status
		if status < 400 {
			status = http.StatusBadGateway
		}
		if f := fieldFor(ae.Target, uploadFields); f != "" {
			field = f
		}
		if ae.Code == galleon.CodeResourceGroupNotFound {
			field = "resource_group"
		}
		writeJSON(w, status, uploadFailure{Error: apiMessage(err), Field: field})
		return
	}
	writeJSON(w, status, uploadFailure{Error: err.Error(), Field: field})
}

// uploadStarted tells the script where to write and what.
type uploadStarted struct {
	ID          string `json:"id"`
	ResourceURL string `json:"resourceUrl"`
	// SAS is the write SAS URL's path and query.
	SAS string `json:"sas"`
	uploadPlan
}

// uploadStart checks the form and the file's description, creates the
// snapshot for upload and grants write access, answering the SAS.
func (s *Server) uploadStart(w http.ResponseWriter, r *http.Request, v *visit) error {
	ctx := r.Context()
	f := r.PostForm
	sub, rg, name, region := f.Get("subscription"), f.Get("resource_group"), strings.TrimSpace(f.Get("name")), f.Get("region")
	switch {
	case sub == "":
		writeJSON(w, http.StatusUnprocessableEntity, uploadFailure{"Select a subscription.", "subscription"})
		return nil
	case rg == "":
		writeJSON(w, http.StatusUnprocessableEntity, uploadFailure{"Select a resource group.", "resource_group"})
		return nil
	case region == "":
		writeJSON(w, http.StatusUnprocessableEntity, uploadFailure{"Select a region.", "region"})
		return nil
	case strings.ContainsAny(sub, "/?#%"):
		writeJSON(w, http.StatusUnprocessableEntity, uploadFailure{"Select a subscription.", "subscription"})
		return nil
	}
	if err := galleon.ValidateResourceGroupName(rg); err != nil {
		writeJSON(w, http.StatusUnprocessableEntity, uploadFailure{messageOf(err), "resource_group"})
		return nil
	}
	if err := galleon.ValidateDiskName(name); err != nil {
		writeJSON(w, http.StatusUnprocessableEntity, uploadFailure{messageOf(err), "name"})
		return nil
	}
	size, err := strconv.ParseInt(f.Get("file_size"), 10, 64)
	if err != nil {
		writeJSON(w, http.StatusUnprocessableEntity, uploadFailure{"Choose a file to upload.", "file"})
		return nil
	}
	head, err1 := base64.StdEncoding.DecodeString(f.Get("head"))
	tail, err2 := base64.StdEncoding.DecodeString(f.Get("tail"))
	if err1 != nil || err2 != nil || len(head) > uploadHeadSize || len(tail) > uploadTailSize {
		writeJSON(w, http.StatusBadRequest, uploadFailure{"The page sent a garbled description of the file; reload it and try again.", "file"})
		return nil
	}
	fileName := f.Get("file_name")
	if fileName == "" {
		fileName = "the file"
	}
	plan, err := planUpload(fileName, size, head, tail, s.now(), uuid.New())
	if err != nil {
		writeJSON(w, http.StatusUnprocessableEntity, uploadFailure{err.Error(), "file"})
		return nil
	}

	c, err := v.arm()
	if err != nil {
		return err
	}
	id := "/subscriptions/" + sub + "/resourceGroups/" + rg + "/providers/Microsoft.Compute/snapshots/" + name
	switch _, err := c.do(ctx, http.MethodGet, withAPI(id, diskAPI), nil, nil); {
	case err == nil:
		writeJSON(w, http.StatusConflict, uploadFailure{fmt.Sprintf("A snapshot named '%s' already exists in resource group '%s'. Choose another name, or delete that snapshot first.", name, rg), "name"})
		return nil
	case !notFound(err):
		failUpload(w, err, "")
		return nil
	}
	props := map[string]any{"creationData": map[string]any{"createOption": galleon.CreateUpload, "uploadSizeBytes": plan.UploadSize}}
	if t := f.Get("os_type"); t != "" {
		props["osType"] = t
	}
	if g := f.Get("generation"); g != "" {
		props["hyperVGeneration"] = g
	}
	if _, err := c.do(ctx, http.MethodPut, withAPI(id, diskAPI), map[string]any{"location": region, "properties": props}, nil); err != nil {
		failUpload(w, err, "")
		return nil
	}
	var access struct {
		AccessSAS string `json:"accessSAS"`
	}
	_, err = c.do(ctx, http.MethodPost, withAPI(id+"/beginGetAccess", diskAPI),
		map[string]any{"access": "Write", "durationInSeconds": uploadSASSeconds}, &access)
	if err == nil {
		access.AccessSAS, err = sasPath(access.AccessSAS)
	}
	if err != nil {
		// Leave nothing half made behind: the snapshot was created just now.
		_, _ = c.do(ctx, http.MethodDelete, withAPI(id, diskAPI), nil, nil)
		failUpload(w, err, "")
		return nil
	}
	writeJSON(w, http.StatusOK, uploadStarted{ID: id, ResourceURL: resourceURL(id), SAS: access.AccessSAS, uploadPlan: *plan})
	return nil
}

// uploadSealed is what the page shows when the upload is sealed.
type uploadSealed struct {
	ID          string `json:"id"`
	Name        string `json:"name"`
	ResourceURL string `json:"resourceUrl"`
	Digest      string `json:"digest"`
	State       string `json:"state"`
}

// uploadFinish ends write access, which seals the upload: the server
// assembles the pages, checks the VHD and records its digest.
func (s *Server) uploadFinish(w http.ResponseWriter, r *http.Request, v *visit) error {
	ctx := r.Context()
	idStr := r.PostForm.Get("id")
	id, err := arm.ParseResourceID(idStr)
	if err != nil || !strings.HasPrefix(idStr, "/subscriptions/") || !strings.EqualFold(id.ResourceType.String(), galleon.TypeSnapshot) {
		writeJSON(w, http.StatusBadRequest, uploadFailure{Error: "This is not the id of a snapshot."})
		return nil
	}
	c, err := v.arm()
	if err != nil {
		return err
	}
	if _, err := c.do(ctx, http.MethodPost, withAPI(idStr+"/endGetAccess", diskAPI), nil, nil); err != nil {
		failUpload(w, err, "")
		return nil
	}
	var d diskJSON
	if _, err := c.do(ctx, http.MethodGet, withAPI(idStr, diskAPI), nil, &d); err != nil {
		failUpload(w, err, "")
		return nil
	}
	writeJSON(w, http.StatusOK, uploadSealed{ID: idStr, Name: id.Name, ResourceURL: resourceURL(idStr), Digest: d.Properties.SHA256,
		State: d.Properties.DiskState})
	return nil
}
