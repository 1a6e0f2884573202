package integration

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/xero-kafka/xero-kafka/internal/testenv"
)

// imageStage returns the instructions of the Dockerfile's stage named name, with the files it
// copies from the build stage (COPY --from=build /out/...) taken from the build context instead.
func imageStage(t *testing.T, dockerfile []byte, name string) string {
	t.Helper()
	var stage []string
	in := false
	for _, line := range strings.Split(string(dockerfile), "\n") {
		if strings.HasPrefix(line, "FROM ") {
			in = strings.HasSuffix(strings.TrimSpace(line), " AS "+name)
		}
		if in {
			stage = append(stage, strings.Replace(line, "COPY --from=build /out/", "COPY out/", 1))
		}
	}
	if len(stage) == 0 {
		t.Fatalf("the Dockerfile has no stage %q", name)
	}
	text := strings.Join(stage, "\n")
	if strings.Contains(text, "--from=") {
		t.Fatalf("stage %s copies from a stage the test does not provide:\n%s", name, text)
	}
	return text
}

// imageConfig is the part of `podman image inspect` the test runs the image by.
type imageConfig struct {
	User       string
	Entrypoint []string
	Cmd        []string
	WorkingDir string
}

// TestConnectorImage builds the Dockerfile's xero-kafka stage with podman, from a binary built
// here, and runs the image's root filesystem without a container engine (podman run is refused
// on the test machines): mounted read-only, in a chroot, as the image's non-root user, with an
// empty environment. The image holds the binary, the CA bundle and the user, and nothing else
// (no shell). Inside it, `version` prints the version given at build time, and `run` (the
// image's default command) reaches its configuration check: it exits with status 2 naming a
// missing variable, and reads the image's CA bundle as KAFKA_TLS_CA_FILE; `check` prints its
// table of checks.
func TestConnectorImage(t *testing.T) {
	if testenv.Real() {
		t.Skip("uses no service: it ran on the fakes")
	}
	if runtime.GOOS != "linux" || os.Geteuid() != 0 {
		t.Skip("needs Linux and root: podman's storage, a mount namespace and chroot to run the image as its user")
	}
	podman, err := exec.LookPath("podman")
	if err != nil {
		testenv.Unavailable(t, "podman is not installed (scripts/setup.sh installs Debian's podman as root)")
	}
	for _, tool := range []string{"unshare", "chroot", "mount"} {
		if _, err := exec.LookPath(tool); err != nil {
			testenv.Unavailable(t, "%s is not installed", tool)
		}
	}
	root := testenv.RepoRoot(t)
	dockerfile, err := os.ReadFile(filepath.Join(root, "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}

	// The build context: what the build stage would leave in /out.
	ctxDir := t.TempDir()
	out := filepath.Join(ctxDir, "out")
	certs := filepath.Join(out, "rootfs", "etc", "ssl", "certs")
	if err := os.MkdirAll(certs, 0o755); err != nil {
		t.Fatal(err)
	}
	bundle, err := os.ReadFile("/etc/ssl/certs/ca-certificates.crt")
	if err != nil {
		testenv.Unavailable(t, "no CA bundle to put in the image: %v", err)
	}
	files := map[string]string{
		filepath.Join(certs, "ca-certificates.crt"):   string(bundle),
		filepath.Join(out, "rootfs", "etc", "passwd"): "nonroot:x:65532:65532:nonroot:/nonexistent:/sbin/nologin\n",
		filepath.Join(out, "rootfs", "etc", "group"):  "nonroot:x:65532:\n",
		filepath.Join(ctxDir, "Containerfile"):        imageStage(t, dockerfile, "xero-kafka") + "\n",
	}
	for path, content := range files {
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	suffix := make([]byte, 4)
	_, _ = rand.Read(suffix)
	version := "v0.0.0-image-test-" + hex.EncodeToString(suffix)
	// Without -trimpath (which the Dockerfile uses), so that the packages compiled by go vet and
	// plain builds are reused: the build then only links.
	build := exec.Command("go", "build", "-ldflags",
		"-s -w -X main.version="+version+" -X main.commit=0123456789abcdef",
		"-o", filepath.Join(out, "xero-kafka"), "./cmd/xero-kafka")
	build.Dir = root
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if b, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, b)
	}

	// A store of its own, removed with the test's directory: two test runs on one machine
	// (two checkouts tested at once) building in podman's shared store failed now and then
	// with "layer not known" as one deleted its build container.
	store := t.TempDir()
	storeArgs := []string{"--root", filepath.Join(store, "storage"), "--runroot", filepath.Join(store, "run")}
	podmanCmd := func(args ...string) *exec.Cmd {
		return exec.Command(podman, append(slices.Clip(storeArgs), args...)...)
	}
	podmanRun := func(args ...string) string {
		t.Helper()
		var stdout, stderr bytes.Buffer
		cmd := podmanCmd(args...)
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		if err := cmd.Run(); err != nil {
			t.Fatalf("podman %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
		}
		return stdout.String()
	}
	tag := "localhost/xero-kafka-image-test:" + hex.EncodeToString(suffix)
	podmanRun("build", "--quiet", "--tag", tag, "--file", filepath.Join(ctxDir, "Containerfile"), ctxDir)

	var inspected []struct{ Config imageConfig }
	if err := json.Unmarshal([]byte(podmanRun("image", "inspect", tag)), &inspected); err != nil || len(inspected) != 1 {
		t.Fatalf("podman image inspect: %v", err)
	}
	cfg := inspected[0].Config
	if cfg.User != "65532:65532" || len(cfg.Entrypoint) != 1 || !slices.Equal(cfg.Cmd, []string{"run"}) {
		t.Fatalf("image config %+v: want user 65532:65532, one entrypoint, command run", cfg)
	}

	// The image's root filesystem, as a container of it would see it.
	rootfs := filepath.Join(t.TempDir(), "rootfs")
	if err := os.Mkdir(rootfs, 0o755); err != nil {
		t.Fatal(err)
	}
	container := strings.TrimSpace(podmanRun("create", tag))
	t.Cleanup(func() { _ = podmanCmd("rm", "--force", container).Run() })
	export := exec.Command("sh", "-c", `"$0" --root "$3" --runroot "$4" export "$1" | tar -x -C "$2"`, podman, container, rootfs, storeArgs[1], storeArgs[3])
	if b, err := export.CombinedOutput(); err != nil {
		t.Fatalf("podman export: %v\n%s", err, b)
	}

	var content []string
	err = filepath.WalkDir(rootfs, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(rootfs, path)
		content = append(content, "/"+rel)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// podman adds the mount points of a container's runtime files, empty.
	content = slices.DeleteFunc(content, func(p string) bool {
		return slices.Contains([]string{"/etc/hosts", "/etc/resolv.conf", "/etc/hostname", "/run/.containerenv"}, p)
	})
	slices.Sort(content)
	want := []string{"/etc/group", "/etc/passwd", "/etc/ssl/certs/ca-certificates.crt", "/usr/local/bin/xero-kafka"}
	if !slices.Equal(content, want) {
		t.Fatalf("the image holds %v, want only %v", content, want)
	}

	// run runs the image's entrypoint with args (nil: the image's command) in a read-only
	// mount of its root filesystem, as the image's user, with only env as environment.
	run := func(env []string, args ...string) (code int, stdout, stderr string) {
		t.Helper()
		if args == nil {
			args = cfg.Cmd
		}
		script := `set -e
mount --bind "$1" "$1"
mount -o remount,bind,ro "$1" "$1"
if touch "$1/.writable" 2>/dev/null; then echo "the image's root is writable" >&2; exit 99; fi
r="$1"; u="$2"; shift 2
exec chroot --userspec="$u" "$r" "$@"`
		cmd := exec.Command("unshare", append([]string{"--mount", "--", "sh", "-c", script, "sh", rootfs, cfg.User, cfg.Entrypoint[0]}, args...)...)
		cmd.Env = env
		var o, e bytes.Buffer
		cmd.Stdout, cmd.Stderr = &o, &e
		err := cmd.Run()
		var exit *exec.ExitError
		switch {
		case err == nil:
		case errors.As(err, &exit):
			code = exit.ExitCode()
		default:
			t.Fatalf("run the image: %v", err)
		}
		if code == 99 {
			t.Fatalf("%s", e.String())
		}
		return code, o.String(), e.String()
	}

	t.Run("version", func(t *testing.T) {
		code, stdout, stderr := run(nil, "version")
		if code != 0 || !strings.Contains(stdout, "xero-kafka "+version) || !strings.Contains(stdout, "0123456789abcdef") {
			t.Errorf("exit %d, stdout %q, stderr %q; want the version and commit given at build", code, stdout, stderr)
		}
	})
	t.Run("run without configuration", func(t *testing.T) {
		code, _, stderr := run(nil)
		if code != 2 || !regexp.MustCompile(`^xero-kafka: configuration: [A-Z_]+: missing required value\n$`).MatchString(stderr) {
			t.Errorf("exit %d, stderr %q; want 2 and one line naming a missing variable", code, stderr)
		}
	})
	config := []string{
		"XERO_CLIENT_ID=client", "XERO_CLIENT_SECRET=secret", "XERO_REFRESH_TOKEN=token",
		"XERO_STATE_KEY=MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=",
		"KAFKA_BOOTSTRAP_SERVERS=127.0.0.1:1", "SCHEMA_REGISTRY_URL=http://127.0.0.1:1",
		"HTTP_ADDR=127.0.0.1:0",
		// A configuration that fails after the CA file is read, before any network call.
		"XERO_STREAMS=widgets",
	}
	t.Run("run reads the image's CA bundle", func(t *testing.T) {
		code, _, stderr := run(append(config, "KAFKA_TLS_CA_FILE=/etc/ssl/certs/ca-certificates.crt"))
		if code != 2 || !strings.Contains(stderr, `"widgets"`) || strings.Contains(stderr, "KAFKA_TLS_CA_FILE") {
			t.Errorf("exit %d, stderr %q; want 2 for the unknown stream, the CA bundle read", code, stderr)
		}
		code, _, stderr = run(append(config, "KAFKA_TLS_CA_FILE=/etc/ssl/certs/other.pem"))
		if code != 2 || !strings.Contains(stderr, "KAFKA_TLS_CA_FILE") {
			t.Errorf("a CA file not in the image: exit %d, stderr %q; want 2 naming KAFKA_TLS_CA_FILE", code, stderr)
		}
	})
	t.Run("check", func(t *testing.T) {
		// A valid configuration and a broker that is not there: the table says which check
		// failed and how to fix it, and the exit status says that one did.
		code, stdout, stderr := run(config[:len(config)-1], "check", "--timeout", "5s")
		if code != 1 || !regexp.MustCompile(`(?m)^configuration +pass`).MatchString(stdout) ||
			!regexp.MustCompile(`(?m)^kafka reachable +FAIL .*→`).MatchString(stdout) {
			t.Errorf("exit %d, stdout %q, stderr %q; want 1 and a table: configuration pass, kafka reachable FAIL with a fix", code, stdout, stderr)
		}
	})
}
