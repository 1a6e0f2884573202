package main

import (
	"bufio"
	"bytes"
	"errors"
	"flag"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestHelpDocumentsFlags(t *testing.T) {
	var out bytes.Buffer
	if err := run([]string{"--help"}, io.Discard, &out); !errors.Is(err, flag.ErrHelp) {
		t.Fatalf("--help: %v", err)
	}
	for _, f := range []string{"-addr", "-tenants", "-seed", "-volume", "-mutation-rate", "-day-limit", "-no-limits",
		"-time-scale", "-fault-500", "-fault-drop", "-client-id", "-client-secret", "-refresh-token", "-ims", "-gate-journals"} {
		if !strings.Contains(out.String(), f) {
			t.Errorf("--help does not mention %s", f)
		}
	}
}

func TestBadFlags(t *testing.T) {
	for _, args := range [][]string{{"--volume", "nope=3"}, {"--volume", "invoices=x"}, {"--ims", "sometimes"}} {
		if err := run(args, io.Discard, io.Discard); err == nil {
			t.Errorf("%v: no error", args)
		}
	}
}

// TestServesUntilSignal builds the program, starts it, reads what it prints, calls it and
// stops it with SIGTERM.
func TestServesUntilSignal(t *testing.T) {
	bin := t.TempDir() + "/xerosim"
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	cmd := exec.Command(bin, "--tenants", "2", "--seed", "5", "--volume", "invoices=10")
	stdout, _ := cmd.StdoutPipe()
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cmd.Process.Kill() }()
	lines := map[string][]string{}
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		k, v, _ := strings.Cut(sc.Text(), ":")
		lines[k] = append(lines[k], strings.TrimSpace(v))
		if len(lines["tenant"]) == 2 {
			break
		}
	}
	if len(lines["base URL"]) != 1 || len(lines["refresh token"]) != 1 {
		t.Fatalf("printed %v", lines)
	}
	resp, err := http.Get(lines["base URL"][0] + "/__sim/stats")
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("stats: %v", err)
	}
	resp.Body.Close()
	_ = cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("exit: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("did not stop on SIGTERM")
	}
}
