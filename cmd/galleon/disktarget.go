package main

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/arm"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/compute/armcompute/v7"
)

// sasDuration is how long the SAS URLs the commands ask for stay valid: a
// large image over a slow link takes hours.
const sasDuration = 24 * time.Hour

// diskState is what upload and download need to know of a disk or a
// snapshot.
type diskState struct {
	ID              string
	State           armcompute.DiskState
	UploadSizeBytes int64  // 0 unless created for upload
	SHA256          string // galleonSha256, "" before the bytes are sealed
}

// diskTarget is a disk or a snapshot, one of which upload fills and
// download reads: the few calls both resource types share, through the
// Azure SDK's clients.
type diskTarget struct {
	Kind          string // "disk" or "snapshot"
	ResourceGroup string
	Name          string

	get    func(ctx context.Context) (*diskState, error)
	create func(ctx context.Context, location string, props uploadProperties) error
	delete func(ctx context.Context) error
	grant  func(ctx context.Context, access armcompute.AccessLevel) (string, error)
	revoke func(ctx context.Context) error
}

func (t *diskTarget) String() string {
	return fmt.Sprintf("%s %s/%s", t.Kind, t.ResourceGroup, t.Name)
}

// uploadProperties are the properties upload sets on a new disk or
// snapshot.
type uploadProperties struct {
	UploadSizeBytes  int64
	OSType           string
	HyperVGeneration string
}

func (p uploadProperties) creationData() *armcompute.CreationData {
	return &armcompute.CreationData{CreateOption: to.Ptr(armcompute.DiskCreateOptionUpload), UploadSizeBytes: to.Ptr(p.UploadSizeBytes)}
}

func (p uploadProperties) osType() *armcompute.OperatingSystemTypes {
	if p.OSType == "" {
		return nil
	}
	return to.Ptr(armcompute.OperatingSystemTypes(p.OSType))
}

func (p uploadProperties) hyperVGeneration() *armcompute.HyperVGeneration {
	if p.HyperVGeneration == "" {
		return nil
	}
	return to.Ptr(armcompute.HyperVGeneration(p.HyperVGeneration))
}

// stateOf reads a GET's answer: the SDK's model, and galleonSha256 from
// the raw body.
func stateOf(id *string, state *armcompute.DiskState, cd *armcompute.CreationData, raw **http.Response) (*diskState, error) {
	s := &diskState{ID: deref(id)}
	if state != nil {
		s.State = *state
	}
	if cd != nil && cd.UploadSizeBytes != nil {
		s.UploadSizeBytes = *cd.UploadSizeBytes
	}
	sha, err := galleonSha256(*raw)
	if err != nil {
		return nil, err
	}
	s.SHA256 = sha
	return s, nil
}

func snapshotTarget(c *Client, sub, rg, name string) (*diskTarget, error) {
	cl, err := c.snapshots(sub)
	if err != nil {
		return nil, err
	}
	return &diskTarget{
		Kind: "snapshot", ResourceGroup: rg, Name: name,
		get: func(ctx context.Context) (*diskState, error) {
			ctx, raw := withCapture(ctx)
			resp, err := cl.Get(ctx, rg, name, nil)
			if err != nil {
				return nil, err
			}
			p := resp.Properties
			if p == nil {
				p = &armcompute.SnapshotProperties{}
			}
			return stateOf(resp.ID, p.DiskState, p.CreationData, raw)
		},
		create: func(ctx context.Context, location string, props uploadProperties) error {
			poller, err := cl.BeginCreateOrUpdate(ctx, rg, name, armcompute.Snapshot{Location: to.Ptr(location),
				Properties: &armcompute.SnapshotProperties{CreationData: props.creationData(),
					OSType: props.osType(), HyperVGeneration: props.hyperVGeneration()}}, nil)
			if err != nil {
				return err
			}
			_, err = poller.PollUntilDone(ctx, pollOptions)
			return err
		},
		delete: func(ctx context.Context) error {
			poller, err := cl.BeginDelete(ctx, rg, name, nil)
			if err != nil {
				return err
			}
			_, err = poller.PollUntilDone(ctx, pollOptions)
			return err
		},
		grant: func(ctx context.Context, access armcompute.AccessLevel) (string, error) {
			poller, err := cl.BeginGrantAccess(ctx, rg, name, armcompute.GrantAccessData{Access: to.Ptr(access),
				DurationInSeconds: to.Ptr(int32(sasDuration / time.Second))}, nil)
			if err != nil {
				return "", err
			}
			resp, err := poller.PollUntilDone(ctx, pollOptions)
			if err != nil {
				return "", err
			}
			return deref(resp.AccessSAS), nil
		},
		revoke: func(ctx context.Context) error {
			poller, err := cl.BeginRevokeAccess(ctx, rg, name, nil)
			if err != nil {
				return err
			}
			_, err = poller.PollUntilDone(ctx, pollOptions)
			return err
		},
	}, nil
}

func diskTargetOf(c *Client, sub, rg, name string) (*diskTarget, error) {
	cl, err := c.disks(sub)
	if err != nil {
		return nil, err
	}
	return &diskTarget{
		Kind: "disk", ResourceGroup: rg, Name: name,
		get: func(ctx context.Context) (*diskState, error) {
			ctx, raw := withCapture(ctx)
			resp, err := cl.Get(ctx, rg, name, nil)
			if err != nil {
				return nil, err
			}
			p := resp.Properties
			if p == nil {
				p = &armcompute.DiskProperties{}
			}
			return stateOf(resp.ID, p.DiskState, p.CreationData, raw)
		},
		create: func(ctx context.Context, location string, props uploadProperties) error {
			poller, err := cl.BeginCreateOrUpdate(ctx, rg, name, armcompute.Disk{Location: to.Ptr(location),
				Properties: &armcompute.DiskProperties{CreationData: props.creationData(),
					OSType: props.osType(), HyperVGeneration: props.hyperVGeneration()}}, nil)
			if err != nil {
				return err
			}
			_, err = poller.PollUntilDone(ctx, pollOptions)
			return err
		},
		delete: func(ctx context.Context) error {
			poller, err := cl.BeginDelete(ctx, rg, name, nil)
			if err != nil {
				return err
			}
			_, err = poller.PollUntilDone(ctx, pollOptions)
			return err
		},
		grant: func(ctx context.Context, access armcompute.AccessLevel) (string, error) {
			poller, err := cl.BeginGrantAccess(ctx, rg, name, armcompute.GrantAccessData{Access: to.Ptr(access),
				DurationInSeconds: to.Ptr(int32(sasDuration / time.Second))}, nil)
			if err != nil {
				return "", err
			}
			resp, err := poller.PollUntilDone(ctx, pollOptions)
			if err != nil {
				return "", err
			}
			return deref(resp.AccessSAS), nil
		},
		revoke: func(ctx context.Context) error {
			poller, err := cl.BeginRevokeAccess(ctx, rg, name, nil)
			if err != nil {
				return err
			}
			_, err = poller.PollUntilDone(ctx, pollOptions)
			return err
		},
	}, nil
}

// targetFromID is the disk or snapshot an ARM id names.
func targetFromID(c *Client, id string) (*diskTarget, error) {
	rid, err := arm.ParseResourceID(id)
	if err != nil {
		return nil, fmt.Errorf("%q is not a resource id: %w", id, err)
	}
	switch {
	case strings.EqualFold(rid.ResourceType.String(), "Microsoft.Compute/disks"):
		return diskTargetOf(c, rid.SubscriptionID, rid.ResourceGroupName, rid.Name)
	case strings.EqualFold(rid.ResourceType.String(), "Microsoft.Compute/snapshots"):
		return snapshotTarget(c, rid.SubscriptionID, rid.ResourceGroupName, rid.Name)
	}
	return nil, fmt.Errorf("%s is a %s, not a disk or a snapshot (Microsoft.Compute/disks or /snapshots)", id, rid.ResourceType)
}
