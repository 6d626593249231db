// Package blobapi is Galleon's data plane: the Azure Blob calls that SAS
// URLs handed out by beginGetAccess answer. A write SAS takes the page
// blob calls the Azure SDK's page blob client makes (Put Page, Get Page
// Ranges, Get Blob Properties); the pages are staged in a bucket until
// endGetAccess seals the upload.
package blobapi

import (
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/google/uuid"
)

// PathPrefix is where blob URLs live: {PathPrefix}{upload id}.
const PathPrefix = "/blobs/"

// storageVersion is the x-ms-version Galleon answers with.
const storageVersion = "2021-12-02"

// Upload is a disk or snapshot waiting for its bytes.
type Upload struct {
	Staging *Staging
	Size    int64  // bytes, VHD footer included
	Name    string // the upload's name in staging; the blob id when empty
}

// Server answers blob calls on SAS URLs. Its func fields are assigned by
// cmd/galleon.
type Server struct {
	// Authorize checks the SAS query of a request for upload id, needing
	// write access or only read; it returns a *StorageError to answer.
	Authorize func(id string, q url.Values, write bool) error
	// Upload finds the upload behind id, or returns a *StorageError.
	Upload func(r *http.Request, id string) (*Upload, error)
	// Content opens the sealed bytes behind id for reading, or returns a
	// *StorageError; nil when id names an upload instead.
	Content func(r *http.Request, id string) (io.ReadSeekCloser, error)
	Logger  *slog.Logger
}

// StorageError is an Azure Storage error answer.
type StorageError struct {
	Status  int
	Code    string
	Message string
}

func (e *StorageError) Error() string { return e.Code + ": " + e.Message }

// Errors Azure Storage answers with.
func errInvalidRange(format string, args ...any) *StorageError {
	return &StorageError{http.StatusRequestedRangeNotSatisfiable, "InvalidPageRange", fmt.Sprintf(format, args...)}
}

func errInvalidHeader(format string, args ...any) *StorageError {
	return &StorageError{http.StatusBadRequest, "InvalidHeaderValue", fmt.Sprintf(format, args...)}
}

// Handler serves everything under PathPrefix.
func (s *Server) Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("x-ms-request-id", uuid.NewString())
		w.Header().Set("x-ms-version", storageVersion)
		if err := s.serve(w, r); err != nil {
			s.writeError(w, r, err)
		}
	})
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) error {
	id := strings.TrimPrefix(r.URL.Path, PathPrefix)
	if !validBlobID(id) {
		return &StorageError{http.StatusNotFound, "BlobNotFound", "The specified blob does not exist."}
	}
	q := r.URL.Query()
	comp := q.Get("comp")
	write := r.Method == http.MethodPut
	if err := s.Authorize(id, q, write); err != nil {
		return err
	}
	if s.Content != nil && comp == "" && (r.Method == http.MethodGet || r.Method == http.MethodHead) {
		rs, err := s.Content(r, id)
		if err != nil {
			return err
		}
		if rs != nil {
			defer rs.Close()
			s.download(w, r, rs)
			return nil
		}
	}
	up, err := s.Upload(r, id)
	if err != nil {
		return err
	}
	name := up.Name
	if name == "" {
		name = id
	}
	switch {
	case r.Method == http.MethodPut && comp == "page":
		return s.putPage(w, r, name, up)
	case r.Method == http.MethodGet && comp == "pagelist":
		return s.pageList(w, r, name, up)
	case r.Method == http.MethodHead && comp == "":
		s.properties(w, up)
		return nil
	}
	return &StorageError{http.StatusBadRequest, "UnsupportedHttpVerb",
		fmt.Sprintf("The resource doesn't support %s with comp=%q on an upload.", r.Method, comp)}
}

// validBlobID accepts the ids Galleon signs: lower-case letters, digits,
// '-' and '/' between non-empty segments. Anything else never reaches a
// bucket key.
func validBlobID(id string) bool {
	if id == "" || len(id) > 256 {
		return false
	}
	for _, seg := range strings.Split(id, "/") {
		if seg == "" || seg == "." || seg == ".." {
			return false
		}
		for _, c := range seg {
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
				return false
			}
		}
	}
	return true
}

// download serves sealed bytes with Range support, as Get Blob does.
func (s *Server) download(w http.ResponseWriter, r *http.Request, rs io.ReadSeeker) {
	h := w.Header()
	h.Set("x-ms-blob-type", "PageBlob")
	h.Set("Content-Type", "application/octet-stream")
	h.Set("ETag", `"0x1"`)
	// Azure clients send the range as x-ms-range, which wins over Range;
	// ServeContent then answers it, If-Range and HEAD as Get Blob does.
	if xr := r.Header.Get("x-ms-range"); xr != "" {
		r.Header.Set("Range", xr)
	}
	http.ServeContent(w, r, "", time.Time{}, rs)
}

// parseRange reads "bytes=start-end" from x-ms-range or Range.
func parseRange(r *http.Request) (Range, bool, error) {
	v := r.Header.Get("x-ms-range")
	if v == "" {
		v = r.Header.Get("Range")
	}
	if v == "" {
		return Range{}, false, nil
	}
	spec, ok := strings.CutPrefix(v, "bytes=")
	a, b, ok2 := strings.Cut(spec, "-")
	start, err1 := strconv.ParseInt(a, 10, 64)
	end, err2 := strconv.ParseInt(b, 10, 64)
	if !ok || !ok2 || err1 != nil || err2 != nil || start < 0 || end < start {
		return Range{}, true, errInvalidHeader("The range '%s' is not of the form bytes=start-end.", v)
	}
	return Range{start, end}, true, nil
}

func (s *Server) putPage(w http.ResponseWriter, r *http.Request, id string, up *Upload) error {
	rng, ok, err := parseRange(r)
	if err != nil {
		return err
	}
	if !ok {
		return &StorageError{http.StatusBadRequest, "MissingRequiredHeader", "Put Page needs a Range or x-ms-range header."}
	}
	n := rng.End - rng.Start + 1
	switch {
	case rng.Start%PageSize != 0 || n%PageSize != 0:
		return errInvalidRange("The page range %d-%d is not aligned to %d-byte pages.", rng.Start, rng.End, PageSize)
	case rng.End >= up.Size:
		return errInvalidRange("The page range %d-%d ends beyond the blob's %d bytes.", rng.Start, rng.End, up.Size)
	}
	switch op := r.Header.Get("x-ms-page-write"); op {
	case "update":
		if n > MaxPageWrite {
			return errInvalidRange("A page write may carry at most %d bytes; this one has %d.", MaxPageWrite, n)
		}
		if r.ContentLength != n {
			return errInvalidHeader("The Content-Length %d does not match the range's %d bytes.", r.ContentLength, n)
		}
		if err := up.Staging.WritePages(r.Context(), id, rng, http.MaxBytesReader(w, r.Body, n)); err != nil {
			return pageWriteError(err)
		}
	case "clear":
		if err := up.Staging.ClearPages(r.Context(), id, rng); err != nil {
			return pageWriteError(err)
		}
	default:
		return errInvalidHeader("x-ms-page-write must be update or clear, not '%s'.", op)
	}
	h := w.Header()
	h.Set("ETag", fmt.Sprintf(`"0x%X"`, time.Now().UnixNano()))
	h.Set("Last-Modified", time.Now().UTC().Format(http.TimeFormat))
	h.Set("x-ms-blob-sequence-number", "0")
	h.Set("x-ms-request-server-encrypted", "true")
	w.WriteHeader(http.StatusCreated)
	return nil
}

// pageWriteError says why a page could not be staged when the reason is
// the server's storage, not a fault to hide behind InternalError.
func pageWriteError(err error) error {
	switch {
	case errors.Is(err, ErrStagingFull):
		return &StorageError{http.StatusConflict, "StagedPagesLimitExceeded",
			"The upload has too many overlapping pages staged (" + err.Error() + "); write each range once, or seal and start again."}
	case errors.Is(err, syscall.ENOSPC):
		return &StorageError{http.StatusInsufficientStorage, "InsufficientStorage",
			"The region's storage has no space left for this page; retry when space has been freed."}
	case errors.Is(err, syscall.EDQUOT):
		return &StorageError{http.StatusInsufficientStorage, "InsufficientStorage",
			"The region's storage quota is exhausted; retry when space has been freed."}
	}
	return err
}

type pageList struct {
	XMLName xml.Name    `xml:"PageList"`
	Ranges  []pageRange `xml:"PageRange"`
}

type pageRange struct {
	Start int64 `xml:"Start"`
	End   int64 `xml:"End"`
}

func (s *Server) pageList(w http.ResponseWriter, r *http.Request, id string, up *Upload) error {
	ranges, err := up.Staging.PageRanges(r.Context(), id)
	if err != nil {
		return err
	}
	rng, limited, err := parseRange(r)
	if err != nil {
		return err
	}
	out := pageList{Ranges: []pageRange{}}
	for _, pr := range ranges {
		if limited {
			pr.Start, pr.End = max(pr.Start, rng.Start), min(pr.End, rng.End)
			if pr.Start > pr.End {
				continue
			}
		}
		out.Ranges = append(out.Ranges, pageRange(pr))
	}
	w.Header().Set("Content-Type", "application/xml")
	w.Header().Set("x-ms-blob-content-length", strconv.FormatInt(up.Size, 10))
	w.Header().Set("ETag", `"0x0"`)
	w.Header().Set("Last-Modified", time.Now().UTC().Format(http.TimeFormat))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write([]byte(xml.Header))
	return xml.NewEncoder(w).Encode(out)
}

// properties answers Get Blob Properties for an upload in progress.
func (s *Server) properties(w http.ResponseWriter, up *Upload) {
	h := w.Header()
	h.Set("Content-Length", strconv.FormatInt(up.Size, 10))
	h.Set("Content-Type", "application/octet-stream")
	h.Set("x-ms-blob-type", "PageBlob")
	h.Set("x-ms-blob-sequence-number", "0")
	h.Set("x-ms-lease-state", "available")
	h.Set("x-ms-lease-status", "unlocked")
	h.Set("x-ms-server-encrypted", "true")
	h.Set("Accept-Ranges", "bytes")
	h.Set("ETag", `"0x0"`)
	h.Set("Last-Modified", time.Now().UTC().Format(http.TimeFormat))
	w.WriteHeader(http.StatusOK)
}

type storageErrorBody struct {
	XMLName xml.Name `xml:"Error"`
	Code    string   `xml:"Code"`
	Message string   `xml:"Message"`
}

func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	se, ok := err.(*StorageError)
	if !ok {
		if s.Logger != nil {
			s.Logger.ErrorContext(r.Context(), "blob request failed", slog.String("path", r.URL.Path), slog.Any("err", err))
		}
		se = &StorageError{http.StatusInternalServerError, "InternalError", "The server encountered an internal error. Please retry the request."}
	}
	w.Header().Set("x-ms-error-code", se.Code)
	w.Header().Set("Content-Type", "application/xml")
	w.WriteHeader(se.Status)
	if r.Method == http.MethodHead {
		return
	}
	_, _ = w.Write([]byte(xml.Header))
	_ = xml.NewEncoder(w).Encode(storageErrorBody{Code: se.Code, Message: se.Message + "\nRequestId:" + w.Header().Get("x-ms-request-id")})
}
