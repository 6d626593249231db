// Package chunkstore stores disk images content-addressed in gocloud.dev/blob
// buckets (file://, mem://, azblob://, s3://): an image is cut into
// content-defined chunks (restic's chunker, a fixed polynomial, about
// 200 KiB on average: ingest.go says why), each chunk is stored once per
// bucket under its sha256, and a Manifest lists the chunks of one image in
// order. paths.go documents the bucket layout.
//
// Identical chunks are stored and moved once: a second image that differs
// from the first in a few places adds only the chunks around the changes,
// and Copy to another bucket moves only the chunks that bucket lacks, which
// also makes a copy resumable after any crash.
//
// Nothing unverified passes: every read, Copy and Verify checks each chunk
// against its digest before handing it on, and reports a mismatch as a
// *CorruptError; Copy also reads back the chunks it finds present in its
// destination, and rewrites a damaged one. Writes are atomic (putChunk says
// why), so a chunk present is complete and a manifest present names only
// chunks that are present. Storage may still damage a chunk later: a scrub
// (CheckChunk, RepairChunk) finds it, and a quarantine note (MarkDamaged)
// keeps PutManifest from building on it until it is good again.
//
// Several processes may share a bucket. Writers (Ingest, Copy, PutManifest)
// and GC exclude each other through lock objects in the bucket (lock.go);
// readers need no lock.
package chunkstore
