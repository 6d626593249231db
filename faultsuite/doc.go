// Package faultsuite holds Galleon's in-process fault-injection suite: it
// drives seals, imports, version creation, replication, garbage collection
// and resource group deletion through the real ARM handler, data plane,
// reconciler and runner over real SQLite and PostgreSQL stores and file
// buckets, stops each at a failpoint (internal/failpoint), "restarts" by
// building new server, reconciler and runner objects over the same store
// and buckets, resumes, and checks that no disk or image version is ever
// reported with bytes other than the ones written.
//
// The package has tests only; this file exists so that it is a package.
package faultsuite
