package integration

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/xero-kafka/xero-kafka/internal/testenv"
)

// composeClient returns the command that runs Docker Compose: the docker CLI's compose plugin,
// or the standalone docker-compose (Debian's package). Neither needs a Docker engine to check a
// file.
func composeClient(t *testing.T) []string {
	t.Helper()
	if _, err := exec.LookPath("docker"); err == nil {
		if exec.Command("docker", "compose", "version").Run() == nil {
			return []string{"docker", "compose"}
		}
	}
	if p, err := exec.LookPath("docker-compose"); err == nil {
		return []string{p}
	}
	testenv.Unavailable(t, "no Docker Compose client (docker compose or docker-compose) to check docker-compose.yml")
	return nil
}

// TestComposeFile: docker-compose.yml is valid for a Compose client in each of its profiles,
// without the Xero secrets and with .env.example, lists its variables in .env.example, mounts
// files that exist, and runs the same Kafka and Apicurio versions as the integration suite.
func TestComposeFile(t *testing.T) {
	root := testenv.RepoRoot(t)
	file := filepath.Join(root, "docker-compose.yml")

	t.Run("same versions as the suite", func(t *testing.T) {
		compose, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		common, err := os.ReadFile(filepath.Join(root, "scripts", "common.sh"))
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range []struct{ variable, image string }{
			{"XK_KAFKA_VERSION", "apache/kafka"},
			{"XK_APICURIO_VERSION", "apicurio/apicurio-registry"},
		} {
			m := regexp.MustCompile(`\$\{` + c.variable + `:-([^}]+)\}`).FindSubmatch(common)
			if m == nil {
				t.Fatalf("scripts/common.sh has no default for %s", c.variable)
			}
			if want := "image: " + c.image + ":" + string(m[1]); !strings.Contains(string(compose), want) {
				t.Errorf("docker-compose.yml has no %q (the suite runs %s)", want, m[1])
			}
		}
	})

	t.Run("valid in every profile", func(t *testing.T) {
		client := composeClient(t)
		// The Xero variables cleared: they may be set in the caller's environment, and no
		// profile may need them to be valid.
		cleared := []string{"XERO_CLIENT_ID=", "XERO_CLIENT_SECRET=", "XERO_REFRESH_TOKEN=", "XERO_STATE_KEY="}
		runs := []struct {
			profiles []string
			envFile  string
		}{
			{nil, ""}, {[]string{"xero"}, ""}, {[]string{"demo"}, ""}, {[]string{"monitoring"}, ""},
			{[]string{"xero", "demo", "monitoring"}, filepath.Join(root, ".env.example")},
		}
		for _, r := range runs {
			args := append([]string(nil), client[1:]...)
			if r.envFile != "" {
				args = append(args, "--env-file", r.envFile)
			}
			args = append(args, "-f", file, "--project-directory", root)
			for _, p := range r.profiles {
				args = append(args, "--profile", p)
			}
			args = append(args, "config", "-q")
			cmd := exec.Command(client[0], args...)
			cmd.Env = append(os.Environ(), cleared...)
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Errorf("%s %s: %v\n%s", client[0], strings.Join(args, " "), err, out)
			}
		}
	})

	t.Run("every variable in .env.example", func(t *testing.T) {
		compose, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		example, err := os.ReadFile(filepath.Join(root, ".env.example"))
		if err != nil {
			t.Fatal(err)
		}
		used := map[string]bool{}
		for _, m := range regexp.MustCompile(`\$\{([A-Z0-9_]+)`).FindAllStringSubmatch(string(compose), -1) {
			used[m[1]] = true
		}
		listed := map[string]bool{}
		for _, m := range regexp.MustCompile(`(?m)^([A-Z0-9_]+)=`).FindAllStringSubmatch(string(example), -1) {
			listed[m[1]] = true
		}
		for v := range used {
			if !listed[v] {
				t.Errorf("docker-compose.yml uses %s, which .env.example does not list", v)
			}
		}
		for v := range listed {
			if !used[v] {
				t.Errorf(".env.example lists %s, which docker-compose.yml does not use", v)
			}
		}
	})

	t.Run("mounted files exist", func(t *testing.T) {
		compose, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		mounts := regexp.MustCompile(`(?m)^\s+- (\./[^:]+):`).FindAllStringSubmatch(string(compose), -1)
		if len(mounts) == 0 {
			t.Fatal("no bind mount found")
		}
		for _, m := range mounts {
			if _, err := os.Stat(filepath.Join(root, m[1])); err != nil {
				t.Errorf("mount source: %v", err)
			}
		}
	})
}
