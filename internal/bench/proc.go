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
	_, cpu, err := statOf(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, fmt.Errorf("read the CPU time of process %d: %w", pid, err)
	}
	return cpu, nil
}

// statOf reads the command name and the CPU time (user + system) of a process or thread from
// its stat file.
func statOf(path string) (name string, cpu time.Duration, err error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", 0, err
	}
	// The command name (field 2) may hold spaces: count fields after its closing parenthesis.
	s := string(b)
	i, j := strings.IndexByte(s, '('), strings.LastIndexByte(s, ')')
	if i < 0 || j < i {
		return "", 0, fmt.Errorf("malformed stat %q", s)
	}
	f := strings.Fields(s[j+1:])
	// After the name: state(3) ppid(4) ... utime(14) stime(15), so utime is f[11].
	if len(f) < 13 {
		return "", 0, fmt.Errorf("%d fields in stat", len(f))
	}
	ut, err1 := strconv.ParseInt(f[11], 10, 64)
	st, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return "", 0, fmt.Errorf("utime %q, stime %q in stat", f[11], f[12])
	}
	return s[i+1 : j], time.Duration(ut+st) * time.Second / clockTicks, nil
}

// compilingOf returns the CPU time that the JIT compiler threads of a live JVM have used
// (HotSpot's "C1 CompilerThread0", "C2 CompilerThread1", ...; the kernel keeps 15 characters
// of a thread's name); 0 for a process that has none. A thread that ends between the listing
// and its read is skipped.
func compilingOf(pid int) (time.Duration, error) {
	dir := fmt.Sprintf("/proc/%d/task", pid)
	tasks, err := os.ReadDir(dir)
	if err != nil {
		return 0, fmt.Errorf("list the threads of process %d: %w", pid, err)
	}
	var sum time.Duration
	for _, t := range tasks {
		name, cpu, err := statOf(dir + "/" + t.Name() + "/stat")
		if err != nil {
			continue
		}
		if strings.HasPrefix(name, "C1 CompilerThre") || strings.HasPrefix(name, "C2 CompilerThre") {
			sum += cpu
		}
	}
	return sum, nil
}

// cpusOf returns the CPU time of each process, and of its JIT compiler threads, in order.
func cpusOf(procs []process) ([]processCPU, error) {
	out := make([]processCPU, len(procs))
	for i, p := range procs {
		cpu, err := cpuOf(p.pid)
		if err != nil {
			return nil, fmt.Errorf("the %s's CPU: %w", p.name, err)
		}
		compiling, err := compilingOf(p.pid)
		if err != nil {
			return nil, fmt.Errorf("the %s's CPU: %w", p.name, err)
		}
		out[i] = processCPU{name: p.name, cpu: cpu, compiling: compiling}
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
