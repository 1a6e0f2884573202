package bench

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// clockTicks is USER_HZ, the unit of utime and stime in /proc/PID/stat: 100 on every Linux
// architecture Go supports.
const clockTicks = 100

// cpuOf returns the CPU time (user + system) a live process has used, from /proc/PID/stat.
func cpuOf(pid int) (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, fmt.Errorf("read the CPU time of process %d: %w", pid, err)
	}
	// The command name (field 2) may hold spaces: count fields after its closing parenthesis.
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, fmt.Errorf("read the CPU time of process %d: malformed /proc stat %q", pid, s)
	}
	f := strings.Fields(s[i+1:])
	// After the name: state(3) ppid(4) ... utime(14) stime(15), so utime is f[11].
	if len(f) < 13 {
		return 0, fmt.Errorf("read the CPU time of process %d: %d fields in /proc stat", pid, len(f))
	}
	ut, err1 := strconv.ParseInt(f[11], 10, 64)
	st, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("read the CPU time of process %d: utime %q, stime %q", pid, f[11], f[12])
	}
	return time.Duration(ut+st) * time.Second / clockTicks, nil
}

// cpusOf returns the CPU time of each process, in order.
func cpusOf(procs []process) ([]time.Duration, error) {
	out := make([]time.Duration, len(procs))
	for i, p := range procs {
		var err error
		if out[i], err = cpuOf(p.pid); err != nil {
			return nil, fmt.Errorf("the %s's CPU: %w", p.name, err)
		}
	}
	return out, nil
}

// memOf returns the peak (VmHWM) and current (VmRSS) resident set of a live process, in bytes.
func memOf(pid int) (peak, now int64, err error) {
	fh, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, 0, fmt.Errorf("read the memory of process %d: %w", pid, err)
	}
	defer fh.Close()
	sc := bufio.NewScanner(fh)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if !ok || (k != "VmHWM" && k != "VmRSS") {
			continue
		}
		kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
		if err != nil {
			return 0, 0, fmt.Errorf("read the memory of process %d: %s %q", pid, k, v)
		}
		if k == "VmHWM" {
			peak = kb << 10
		} else {
			now = kb << 10
		}
	}
	if peak == 0 {
		return 0, 0, fmt.Errorf("read the memory of process %d: no VmHWM in /proc status", pid)
	}
	return peak, now, sc.Err()
}
