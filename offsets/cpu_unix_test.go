//go:build unix

package offsets

import (
	"syscall"
	"time"
)

// cpuTime is the CPU time the process has used, user and system: on a machine shared with other
// work it says what an operation cost, where the wall clock says how long it waited too.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
