//go:build !unix

package httplimit

func fileLimit() (uint64, bool) { return 0, false }
