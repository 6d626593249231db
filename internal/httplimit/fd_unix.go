//go:build unix

package httplimit

import "syscall"

// fileLimit raises the soft limit on open files to the hard one (Go's os
// package does so too on start, since 1.19; doing it here says it is
// relied on) and returns it.
func fileLimit() (uint64, bool) {
	var l syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &l); err != nil {
		return 0, false
	}
	if l.Cur < l.Max {
		raised := l
		raised.Cur = raised.Max
		if syscall.Setrlimit(syscall.RLIMIT_NOFILE, &raised) == nil {
			l = raised
		}
	}
	return l.Cur, true
}
